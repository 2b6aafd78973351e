import type { Hono } from 'hono';
import { html } from 'hono/html';
import { requireRole } from '../service/auth.js';
import type { ConsoleDeps } from './deps.js';
import { json, page, stateBadge, table, time } from './layout.js';
import type { ConsoleEnv } from './login.js';
import { recentHandOvers } from './sql/recentHandOvers.js';

/** A checkpoint as shown in a cell: its JSON, cut at 300 characters. */
function checkpointText(checkpoint: unknown): string {
  const text = json(checkpoint);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/**
 * GET /ui/long-running: each agent's owner, epoch and last checkpoint, and the latest shard
 * acquisitions (hand-overs). Long-running agents belong to no tenant: admin and operator keys
 * only, as in the API.
 */
export function mountLongRunning(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/ui/long-running', requireRole('admin', 'operator'), async (c) => {
    const [agents, handOvers] = await Promise.all([deps.client.longRunning.list(), recentHandOvers(deps.db, 50)]);
    const body = html`<h1>Long-running agents</h1>
      ${table(
        [
          'agent',
          'kind',
          'state',
          'owner',
          'epoch',
          'owned since',
          'last activity',
          'restarts',
          'last checkpoint',
          'last error',
        ],
        agents.map(
          (a) =>
            html`<tr data-agent-id="${a.id}">
              <td><code>${a.id}</code></td>
              <td>${a.kind}</td>
              <td>${stateBadge(a.state)}</td>
              <td>
                ${a.ownerInstanceId ? html`<code>${a.ownerInstanceId}</code>` : html`<span class="muted">none</span>`}
              </td>
              <td>${a.epoch}</td>
              <td>${time(a.ownedSince)}</td>
              <td>${time(a.lastActivityAt)}</td>
              <td>${a.restartCount}</td>
              <td><pre>${checkpointText(a.checkpoint)}</pre></td>
              <td class="error">${a.lastError ?? ''}</td>
            </tr>`,
        ),
        'No long-running agent.',
        'long-running',
      )}
      <h2>Hand-overs</h2>
      <p class="muted">Ownership is per shard: every agent of a shard moves with it.</p>
      ${table(
        ['acquired', 'shard', 'agents', 'epoch', 'from', 'to', 'released', 'reason'],
        handOvers.map(
          (h) =>
            html`<tr>
              <td>${time(h.acquiredAt)}</td>
              <td>${h.shard}</td>
              <td>${h.agentIds.join(', ')}</td>
              <td>${h.epoch}</td>
              <td>
                ${h.previousInstanceId ? html`<code>${h.previousInstanceId}</code>` : html`<span class="muted">first owner</span>`}
              </td>
              <td><code>${h.instanceId}</code></td>
              <td>${time(h.releasedAt)}</td>
              <td>${h.releaseReason ?? ''}</td>
            </tr>`,
        ),
        'No shard acquisition logged.',
        'hand-overs',
      )}`;
    return c.html(
      page(
        { title: 'Long-running agents', active: 'long-running', principal: c.get('principal'), live: 'cluster' },
        body,
      ),
    );
  });
}
