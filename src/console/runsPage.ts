import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { Principal } from '../access/principal.js';
import { isUuid } from '../runs/rows.js';
import { RUN_STATES } from '../runs/states.js';
import type { Run } from '../runs/types.js';
import type { ConsoleDeps } from './deps.js';
import { duration, page, shortId, stateBadge, table, time, type Html } from './layout.js';
import type { ConsoleEnv } from './login.js';
import { listRuns } from './sql/listRuns.js';
import { scopeOf } from './sql/scope.js';

/** A filter value from the query string: absent, empty or over-long is "no filter". */
function filterParam(value: string | undefined): string | undefined {
  return value && value.length <= 255 ? value : undefined;
}

/** GET /ui/runs?state=&agent=&tenant=&session=: the runs whose state changed last, live. */
export function mountRuns(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/ui/runs', async (c) => {
    const principal = c.get('principal');
    const state = filterParam(c.req.query('state'));
    const filter = {
      state: state && (RUN_STATES as readonly string[]).includes(state) ? state : undefined,
      agentName: filterParam(c.req.query('agent')),
      tenantId: filterParam(c.req.query('tenant')),
      sessionId: isUuid(c.req.query('session')) ? c.req.query('session') : undefined,
      limit: 200,
    };
    const runs = await listRuns(deps.db, scopeOf(principal), filter);
    const agents = [...deps.client.registry.agents.keys()].sort();
    const body = html`<h1>Runs</h1>
      ${filterForm(principal, agents, filter)} ${runsTable(runs, 'No run matches these filters.')}`;
    return c.html(page({ title: 'Runs', active: 'runs', principal, live: 'cluster' }, body));
  });
}

function filterForm(
  principal: Principal,
  agents: string[],
  f: { state?: string; agentName?: string; tenantId?: string; sessionId?: string },
): Html {
  const option = (value: string, selected: string | undefined) =>
    html`<option value="${value}" ${value === selected ? 'selected' : ''}>${value || 'any'}</option>`;
  const tenantField =
    principal.role === 'tenant'
      ? html`<select name="tenant">
          ${['', ...principal.tenantIds].map((t) => option(t, f.tenantId ?? ''))}
        </select>`
      : html`<input name="tenant" value="${f.tenantId ?? ''}" placeholder="any" />`;
  return html`<form class="filters" method="get" action="/ui/runs">
    <label
      >state
      <select name="state">
        ${['', ...RUN_STATES].map((s) => option(s, f.state ?? ''))}
      </select></label
    >
    <label
      >agent
      <select name="agent">
        ${['', ...agents].map((a) => option(a, f.agentName ?? ''))}
      </select></label
    >
    <label>tenant ${tenantField}</label>
    ${f.sessionId ? html`<input type="hidden" name="session" value="${f.sessionId}" />` : ''}
    <button type="submit">filter</button>
    ${f.sessionId ? html`<span>session <code>${f.sessionId}</code> <a href="/ui/runs">(all)</a></span>` : ''}
  </form>`;
}

/** Runs as a table; each row names its run (data-run-id) so the script can update its state at once. */
export function runsTable(runs: Run[], empty: string): Html {
  return table(
    [
      'run',
      'state',
      'agent',
      'tenant',
      'session',
      'tokens in/out',
      'tool turns',
      'attempts',
      'created',
      'took',
      'error',
    ],
    runs.map(
      (r) =>
        html`<tr data-run-id="${r.id}">
          <td>
            <a href="/ui/runs/${r.id}"><code>${shortId(r.id)}</code></a>
          </td>
          <td>${stateBadge(r.state)}</td>
          <td>${r.agentName}</td>
          <td>${r.tenantId}</td>
          <td>
            <a href="/ui/runs?session=${r.sessionId}"><code>${shortId(r.sessionId)}</code></a>
          </td>
          <td>${r.inputTokens} / ${r.outputTokens}</td>
          <td>${r.toolIterations}</td>
          <td>${r.attempts}</td>
          <td>${time(r.createdAt)}</td>
          <td>${duration(r.startedAt, r.finalizedAt)}</td>
          <td class="error">${r.errorType ?? ''}</td>
        </tr>`,
    ),
    empty,
    'runs',
  );
}
