import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { AgentPG } from '../client.js';
import type { Queryable } from '../db/queryable.js';
import { isTerminal } from '../runs/rows.js';
import { getRun } from '../runs/sql/getRun.js';

export interface RunEventStreamOptions {
  isDraining: () => boolean;
  db: Queryable;
  shutdown?: AbortSignal;
}

/**
 * A run's events as Server-Sent Events (`event: <type>`, `data: <RunEvent JSON>`), to its `end`:
 * the API's GET /v1/runs/:id/events and the console's run streams (EventSource) share it. The
 * caller has checked that the request may see the run.
 */
export function streamRunEvents(c: Context, client: AgentPG, options: RunEventStreamOptions, id: string) {
  return streamSSE(c, async (stream) => {
    const abort = new AbortController();
    stream.onAbort(() => abort.abort());
    const onShutdown = () => abort.abort();
    options.shutdown?.addEventListener('abort', onShutdown, { once: true });
    let ended = false;
    try {
      // ?replay=1: the run's stored turns first (a browser reconnecting mid-run).
      const replay = ['1', 'true'].includes(c.req.query('replay') ?? '');
      for await (const event of client.runs.stream(id, { signal: abort.signal, replay })) {
        await stream.writeSSE({ event: event.type, data: JSON.stringify(event) });
        ended ||= event.type === 'end';
      }
    } catch (err) {
      if (!options.isDraining()) throw err; // the client stopping under the stream: handled below
    } finally {
      options.shutdown?.removeEventListener('abort', onShutdown);
    }
    // Drained: the client (and its LISTEN connection) stopped before this run's last notification
    // came in. A run that finished during the drain still gets its `end`, read on the service's
    // own pool; one handed back unfinished just ends the stream (reconnect elsewhere, ?replay=1).
    if (!ended && options.isDraining() && !stream.aborted) {
      const run = await getRun(options.db, id).catch(() => null);
      if (run && isTerminal(run.state)) {
        await stream.writeSSE({ event: 'state', data: JSON.stringify({ type: 'state', state: run.state }) });
        await stream.writeSSE({ event: 'end', data: JSON.stringify({ type: 'end', run }) });
      }
    }
  });
}
