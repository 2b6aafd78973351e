import type { EventListener } from '../events/listener.js';
import { RUN_CANCEL_CHANNEL, RUN_STATE_CHANNEL, RUN_STREAM_CHANNEL } from '../events/channels.js';
import type { RunEvent, RunState } from './types.js';

export interface StateChange {
  run_id: string;
  session_id: string;
  agent_name: string;
  tenant_id: string;
  state: RunState;
  previous_state: RunState | null;
  instance_id: string | null;
  /** Agents as tools: the parent of a child run (null for a root run). */
  parent_run_id?: string | null;
  depth?: number;
}

/** A stream notification: run id, per-run sequence number, event. */
export interface StreamEnvelope {
  r: string;
  n: number;
  e: RunEvent;
}

type Fn<T> = (v: T) => void;

/**
 * Fans the client's run notifications out to interested parties in this process (waiters,
 * streams, the worker) over the client's one LISTEN connection. The state and cancel channels are
 * listened to for the client's whole life; the stream channel only while a stream() is open, so an
 * instance nobody streams from does not parse every delta of every run.
 */
export class RunChannels {
  private readonly stateByRun = new Map<string, Set<Fn<StateChange>>>();
  private readonly stateAll = new Set<Fn<StateChange>>();
  private readonly streamByRun = new Map<string, Set<Fn<StreamEnvelope>>>();
  private readonly cancelAll = new Set<Fn<{ run_id: string }>>();
  private readonly resync = new Set<() => void>();
  private unsubs: Array<() => Promise<void>> = [];
  private streamUnsub: Promise<() => Promise<void>> | null = null;
  private offResync: (() => void) | null = null;

  constructor(private readonly events: EventListener) {}

  async start(): Promise<void> {
    this.unsubs.push(await this.events.subscribe(RUN_STATE_CHANNEL, (p) => this.dispatchState(p)));
    this.unsubs.push(await this.events.subscribe(RUN_CANCEL_CHANNEL, (p) => this.dispatchCancel(p)));
    this.offResync = this.events.onResync(() => {
      for (const fn of this.resync) fn();
    });
  }

  async stop(): Promise<void> {
    this.offResync?.();
    const unsubs = this.unsubs;
    this.unsubs = [];
    if (this.streamUnsub) unsubs.push(await this.streamUnsub);
    this.streamUnsub = null;
    await Promise.all(unsubs.map((u) => u().catch(() => {})));
  }

  /** State changes of one run, or of every run with '*'. Returns the unsubscribe function. */
  onState(runId: string, fn: Fn<StateChange>): () => void {
    if (runId === '*') {
      this.stateAll.add(fn);
      return () => this.stateAll.delete(fn);
    }
    return addTo(this.stateByRun, runId, fn);
  }

  onCancel(fn: Fn<{ run_id: string }>): () => void {
    this.cancelAll.add(fn);
    return () => this.cancelAll.delete(fn);
  }

  /** Called after the LISTEN connection came back: notifications may have been missed. */
  onResync(fn: () => void): () => void {
    this.resync.add(fn);
    return () => this.resync.delete(fn);
  }

  /** Stream events of one run; resolves once LISTEN is active. */
  async onStream(runId: string, fn: Fn<StreamEnvelope>): Promise<() => void> {
    const off = addTo(this.streamByRun, runId, fn);
    if (!this.streamUnsub) this.streamUnsub = this.events.subscribe(RUN_STREAM_CHANNEL, (p) => this.dispatchStream(p));
    await this.streamUnsub;
    return () => {
      off();
      if (this.streamByRun.size === 0 && this.streamUnsub) {
        const pending = this.streamUnsub;
        this.streamUnsub = null;
        void pending.then((u) => u()).catch(() => {});
      }
    };
  }

  private dispatchState(payload: string): void {
    const change = parse<StateChange>(payload);
    if (!change?.run_id) return;
    for (const fn of this.stateAll) fn(change);
    const set = this.stateByRun.get(change.run_id);
    if (set) for (const fn of [...set]) fn(change);
  }

  private dispatchCancel(payload: string): void {
    const msg = parse<{ run_id: string }>(payload);
    if (!msg?.run_id) return;
    for (const fn of this.cancelAll) fn(msg);
  }

  private dispatchStream(payload: string): void {
    const env = parse<StreamEnvelope>(payload);
    if (!env?.r) return;
    const set = this.streamByRun.get(env.r);
    if (set) for (const fn of [...set]) fn(env);
  }
}

function addTo<T>(map: Map<string, Set<Fn<T>>>, key: string, fn: Fn<T>): () => void {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  set.add(fn);
  return () => {
    const s = map.get(key);
    if (!s) return;
    s.delete(fn);
    if (s.size === 0) map.delete(key);
  };
}

function parse<T>(payload: string): T | null {
  try {
    return JSON.parse(payload) as T;
  } catch {
    return null;
  }
}
