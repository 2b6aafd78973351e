import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { ConsoleDeps } from './deps.js';
import { page, shortId, stateBadge, table, time } from './layout.js';
import type { ConsoleEnv } from './login.js';
import { listSessions } from './sql/listSessions.js';
import { scopeOf } from './sql/scope.js';

/** GET /ui/sessions?tenant=: the newest sessions with their runs (live: a run changing re-reads it). */
export function mountSessions(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/ui/sessions', async (c) => {
    const principal = c.get('principal');
    const tenant = c.req.query('tenant');
    const sessions = await listSessions(deps.db, scopeOf(principal), {
      tenantId: tenant && tenant.length <= 255 ? tenant : undefined,
      limit: 200,
    });
    const body = html`<h1>Sessions</h1>
      ${table(
        ['session', 'tenant', 'identifier', 'agent', 'parent', 'runs', 'last run', 'created'],
        sessions.map(
          (s) =>
            html`<tr data-session-id="${s.id}">
              <td><code>${s.id}</code></td>
              <td>${s.tenantId}</td>
              <td>${s.identifier}</td>
              <td>${s.agentName ?? ''}</td>
              <td>${s.parentSessionId ? html`<code>${shortId(s.parentSessionId)}</code>` : ''}</td>
              <td><a href="/ui/runs?session=${s.id}">${s.runs}</a></td>
              <td>${s.lastRunState ? stateBadge(s.lastRunState) : ''} ${time(s.lastRunAt)}</td>
              <td>${time(s.createdAt)}</td>
            </tr>`,
        ),
        'No session yet.',
        'sessions',
      )}`;
    return c.html(page({ title: 'Sessions', active: 'sessions', principal, live: 'cluster' }, body));
  });
}
