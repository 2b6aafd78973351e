import type { Hono } from 'hono';
import { html } from 'hono/html';
import { listPendingApprovals } from '../runs/sql/approvals.js';
import type { ConsoleDeps } from './deps.js';
import { page, stateBadge, table, time, type Html } from './layout.js';
import type { ConsoleEnv } from './login.js';
import { listInstances, type InstanceSummary } from './sql/listInstances.js';
import { recentCleanupPasses, type CleanupPassSummary } from './sql/recentCleanupPasses.js';
import { runStateCounts, type RunStateCount } from './sql/runStateCounts.js';
import { scopeOf } from './sql/scope.js';

/** GET /ui: instances, runs per state and throughput, cleanup passes, waiting approvals. */
export function mountOverview(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/ui', async (c) => {
    const principal = c.get('principal');
    const scope = scopeOf(principal);
    const cluster = principal.role !== 'tenant'; // instances and passes belong to no tenant
    const [counts, instances, passes, approvals] = await Promise.all([
      runStateCounts(deps.db, scope),
      cluster ? listInstances(deps.db) : Promise.resolve(null),
      cluster ? recentCleanupPasses(deps.db, 10) : Promise.resolve(null),
      listPendingApprovals(deps.db, { limit: 1000 }),
    ]);
    const waiting = approvals.filter((a) => scope === null || scope.includes(a.tenantId)).length;
    const body = html`<h1>Overview</h1>
      <section>
        <h2>Runs</h2>
        ${runsSection(counts)}
        <p>Tool calls waiting for approval: <a href="/ui/runs?state=awaiting_input">${waiting}</a></p>
      </section>
      ${
        instances
          ? html`<section>
              <h2>Instances</h2>
              ${instancesSection(instances)}
            </section>`
          : ''
      }
      ${
        passes
          ? html`<section>
              <h2>Cleanup passes</h2>
              ${passesSection(passes)}
            </section>`
          : ''
      }`;
    return c.html(page({ title: 'Overview', active: 'overview', principal, live: 'cluster' }, body));
  });
}

function runsSection(counts: RunStateCount[]): Html {
  const total = (f: (r: RunStateCount) => number) => counts.reduce((n, r) => n + f(r), 0);
  const perMinute = (total((r) => r.last5Minutes) / 5).toFixed(1);
  return html`<p class="throughput">
      Throughput: <strong data-metric="last-minute">${total((r) => r.lastMinute)}</strong> runs finished in the last
      minute, ${perMinute}/min over 5 minutes, ${total((r) => r.lastHour)} in the last hour.
    </p>
    ${table(
      ['state', 'now (unfinished)', 'finished last minute', 'last 5 minutes', 'last hour'],
      counts.map(
        (r) =>
          html`<tr data-state-row="${r.state}">
            <td><a href="/ui/runs?state=${r.state}">${stateBadge(r.state)}</a></td>
            <td>${r.unfinished}</td>
            <td>${r.lastMinute}</td>
            <td>${r.last5Minutes}</td>
            <td>${r.lastHour}</td>
          </tr>`,
      ),
      'No unfinished run, none finished in the last hour.',
      'run-states',
    )}`;
}

function instancesSection(instances: InstanceSummary[]): Html {
  const renderedAt = Date.now();
  return table(
    ['instance', 'host', 'pid', 'version', 'heartbeat age', 'running runs', 'since'],
    instances.map(
      (i) =>
        html`<tr>
          <td><code>${i.id}</code></td>
          <td>${i.hostname ?? ''}</td>
          <td>${i.pid ?? ''}</td>
          <td>${i.version ?? ''}</td>
          <td data-age-seconds="${i.heartbeatAgeSeconds.toFixed(1)}" data-rendered-at="${renderedAt}">
            ${i.heartbeatAgeSeconds.toFixed(1)} s
          </td>
          <td>${i.runningRuns}</td>
          <td>${time(i.createdAt)}</td>
        </tr>`,
    ),
    'No live instance.',
    'instances',
  );
}

function passesSection(passes: CleanupPassSummary[]): Html {
  return table(
    ['started', 'instance', 'stale instances', 'stuck runs', 'handed back', 'freed agents', 'error'],
    passes.map(
      (p) =>
        html`<tr>
          <td>${time(p.startedAt)}</td>
          <td><code>${p.instanceId}</code></td>
          <td>${p.staleInstances}</td>
          <td>${p.stuckRuns}</td>
          <td>${p.releasedRuns}</td>
          <td>${p.freedAgents}</td>
          <td class="error">${p.error ?? ''}</td>
        </tr>`,
    ),
    'No cleanup pass yet.',
    'cleanup-passes',
  );
}
