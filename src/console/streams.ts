import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { seesTenant } from '../access/principal.js';
import type { AgentPGEvent, EventType } from '../events/types.js';
import { streamRunEvents } from '../service/runEventStream.js';
import type { ConsoleDeps } from './deps.js';
import type { ConsoleEnv } from './login.js';
import { visibleRun } from './runDetail.js';

/** A comment line every 25 s keeps idle streams open through proxies that cut silent connections. */
const KEEPALIVE_MS = 25_000;

/**
 * The console's live updates, both over the NOTIFY path the API uses (no polling):
 * - GET /ui/runs/:id/stream: one run's events (the same stream as GET /v1/runs/:id/events);
 * - GET /ui/events: the cluster events the key may see, from client.events: run_state_changed of
 *   its tenants (a run's tenant travels in the NOTIFY payload), and for admin and operator keys
 *   instance_registered, instance_deregistered and ownership_changed; `resync` after the LISTEN
 *   connection came back (the page re-reads everything). Ids and states only, never content.
 */
export function mountStreams(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/ui/runs/:id/stream', async (c) => {
    const run = await visibleRun(c, deps);
    return streamRunEvents(c, deps.client, deps, run.id);
  });

  app.get('/ui/events', (c) => {
    const principal = c.get('principal');
    const cluster = principal.role !== 'tenant';
    return streamSSE(c, async (stream) => {
      const queue: AgentPGEvent[] = [];
      let wake: (() => void) | null = null;
      const push = (e: AgentPGEvent) => {
        queue.push(e);
        wake?.();
      };
      const types: EventType[] = cluster
        ? ['run_state_changed', 'instance_registered', 'instance_deregistered', 'ownership_changed', 'resync']
        : ['run_state_changed', 'resync'];
      const offs = await Promise.all(
        types.map((t) =>
          deps.client.events.subscribe(t, (e: AgentPGEvent) => {
            if (e.type === 'run_state_changed' && !(e.tenantId !== null && seesTenant(principal, e.tenantId))) return;
            push(e);
          }),
        ),
      );
      let onShutdown = () => {};
      const done = new Promise<void>((resolve) => {
        stream.onAbort(resolve);
        onShutdown = () => resolve();
        deps.shutdown?.addEventListener('abort', onShutdown, { once: true });
      });
      let open = true;
      void done.then(() => {
        open = false;
        wake?.();
      });
      try {
        await stream.writeSSE({ event: 'ready', data: '{}' });
        while (open) {
          while (queue.length > 0 && open) {
            const e = queue.shift()!;
            await stream.writeSSE({ event: e.type, data: JSON.stringify(e) });
          }
          if (!open) break;
          const timer = new Promise<'keepalive'>((resolve) => {
            const t = setTimeout(() => resolve('keepalive'), KEEPALIVE_MS);
            wake = () => (clearTimeout(t), resolve('keepalive'));
          });
          await timer;
          wake = null;
          if (open && queue.length === 0) await stream.write(': keepalive\n\n');
        }
      } finally {
        deps.shutdown?.removeEventListener('abort', onShutdown);
        await Promise.all(offs.map((off) => off().catch(() => {})));
      }
    });
  });
}
