import type { Queryable } from '../db/queryable.js';
import type { EventListener, ResyncInfo } from './listener.js';
import { parsePayload } from './parsePayload.js';
import { runsChangedSince } from './sql/runsChangedSince.js';
import {
  EVENT_CHANNELS,
  type ChannelEventType,
  type EventHandler,
  type EventMap,
  type EventType,
  type RunStateChangedEvent,
} from './types.js';

export interface ClientEventsOptions {
  /**
   * How far before the listener's last sign of life the catch-up reads: covers transactions that
   * changed a run before that moment but committed (and notified) after it. 5 s.
   */
  catchUpMarginMs?: number;
  /** At most this many runs are re-delivered per reconnect; more → resync with runsCaughtUp false. */
  catchUpLimit?: number;
}

/**
 * `client.events`: typed subscriptions over the client's one LISTEN connection.
 *
 *   const off = await client.events.subscribe('run_state_changed', (e) => ...);
 *   await off();
 *
 * After a lost LISTEN connection comes back, run state changes made meanwhile are re-read from
 * agentpg_runs and delivered (catchUp: true), then a `resync` event tells every subscriber plainly
 * that other events may have been missed. Nothing is lost silently.
 */
export class ClientEvents {
  private readonly local = new Map<EventType, Set<(e: unknown) => void>>();
  private readonly unlistens = new Map<ChannelEventType, Promise<() => Promise<void>>>();
  private readonly offResync: () => void;
  private readonly marginMs: number;
  private readonly limit: number;

  /** @internal */
  constructor(
    private readonly listener: EventListener,
    private readonly db: Queryable,
    private readonly reportError: (err: unknown, context?: string) => void,
    options: ClientEventsOptions = {},
  ) {
    this.marginMs = options.catchUpMarginMs ?? 5_000;
    this.limit = options.catchUpLimit ?? 10_000;
    this.offResync = listener.onResync((info) => this.resync(info));
  }

  /** Subscribes to one event type; resolves (once LISTEN is active) to the unsubscribe function. */
  async subscribe<T extends EventType>(type: T, handler: EventHandler<T>): Promise<() => Promise<void>> {
    if (type !== 'resync' && !(type in EVENT_CHANNELS)) {
      throw new TypeError(
        `unknown event type "${String(type)}": use one of ${[...Object.keys(EVENT_CHANNELS), 'resync'].join(', ')}`,
      );
    }
    let set = this.local.get(type);
    if (!set) {
      set = new Set();
      this.local.set(type, set);
    }
    const h = handler as (e: unknown) => void;
    set.add(h);
    if (type !== 'resync') {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc does not narrow the generic T here
      const channelType = type as ChannelEventType;
      let listening = this.unlistens.get(channelType);
      if (!listening) {
        // The promise is stored at once, so concurrent subscribes share one LISTEN and all wait for it.
        listening = this.listener.subscribe(EVENT_CHANNELS[channelType], (payload) => {
          const event = parsePayload(channelType, payload);
          if (event) this.emit(channelType, event);
          else this.reportError(new Error(`unreadable ${channelType} payload`), 'events');
        });
        this.unlistens.set(channelType, listening);
        listening.catch(() => this.unlistens.delete(channelType));
      }
      try {
        await listening;
      } catch (err) {
        set.delete(h);
        throw err;
      }
    }
    return async () => {
      const s = this.local.get(type);
      if (!s || !s.delete(h) || s.size > 0) return;
      this.local.delete(type);
      if (type === 'resync') return;
      const listening = this.unlistens.get(type);
      this.unlistens.delete(type);
      const off = await listening?.catch(() => null);
      await off?.();
    };
  }

  /** Drops every subscription (client.stop()). */
  close(): void {
    this.offResync();
    this.local.clear();
    this.unlistens.clear();
  }

  private emit<T extends EventType>(type: T, event: EventMap[T]): void {
    const set = this.local.get(type);
    if (!set) return;
    for (const h of [...set]) {
      try {
        h(event);
      } catch (err) {
        this.reportError(err, `events: ${type} handler`);
      }
    }
  }

  private async resync(info: ResyncInfo): Promise<void> {
    let caughtUpRuns = 0;
    let runsCaughtUp = false;
    if (this.local.has('run_state_changed') && info.since) {
      try {
        const since = new Date(info.since.getTime() - this.marginMs);
        const rows = await runsChangedSince(this.db, since, this.limit);
        for (const r of rows) {
          const event: RunStateChangedEvent = {
            type: 'run_state_changed',
            runId: r.id,
            sessionId: r.session_id,
            agentName: r.agent_name,
            tenantId: r.tenant_id,
            state: r.state,
            previousState: null,
            instanceId: r.instance_id,
            parentRunId: r.parent_run_id,
            depth: r.depth,
            catchUp: true,
          };
          this.emit('run_state_changed', event);
        }
        caughtUpRuns = rows.length;
        runsCaughtUp = rows.length < this.limit;
      } catch (err) {
        this.reportError(err, 'events: catching up on run state changes');
      }
    }
    this.emit('resync', { type: 'resync', since: info.since, reconnects: info.reconnects, caughtUpRuns, runsCaughtUp });
  }
}
