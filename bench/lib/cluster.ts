import { Child, wallClock, type WorkerMessage } from './child.js';
import { workerScript } from './context.js';
import { startTcpProxy, type TcpProxy } from '../../src/testing/tcpProxy.js';
import type { InstanceWorkerConfig } from '../workers/instance.js';

export interface HandlerEvent {
  type: 'start' | 'stop';
  agentId: string;
  owner: string;
  epoch: number;
  reason?: string | null;
  t: number;
}

/**
 * A set of agentpg instance processes for ownership experiments: spawns them, records every
 * long-running handler start/stop they report (with wall clock), knows who runs an agent now,
 * and when each process was killed.
 */
export class InstanceCluster {
  readonly children = new Map<string, Child>();
  readonly events: HandlerEvent[] = [];
  /** When each process ended (SIGKILL by the harness, or any other exit): its handlers ended then. */
  readonly killedAt = new Map<string, number>();
  /** With `proxied`, each instance's own TCP proxy to Postgres (freeze it to partition the instance). */
  readonly proxies = new Map<string, TcpProxy>();
  /** Processes that exited although the harness neither killed nor stopped them. */
  readonly crashes: Array<{ instanceId: string; t: number; exit: string; lastOutput: string }> = [];
  /** Called when a process crashes (e.g. to replace it). */
  onCrash: ((instanceId: string) => void) | null = null;
  private stopping = false;
  private seq = 0;
  private listeners = new Set<(e: HandlerEvent) => void>();

  constructor(
    private readonly prefix: string,
    private readonly base: (instanceId: string) => Omit<InstanceWorkerConfig, 'instanceId'>,
    private readonly options: { proxied?: boolean } = {},
  ) {}

  /** Starts `count` instance processes; by default resolves once each reported `ready` (start() resolved). */
  async spawn(count = 1, options: { waitReady?: boolean } = {}): Promise<Child[]> {
    const spawned: Child[] = [];
    for (let i = 0; i < count; i++) {
      const instanceId = `${this.prefix}-${++this.seq}`;
      const config = { ...this.base(instanceId), instanceId };
      if (this.options.proxied) {
        // Every connection of the instance goes through its own proxy, created before it starts.
        const u = new URL(config.databaseUrl);
        const proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
        this.proxies.set(instanceId, proxy);
        u.host = `127.0.0.1:${proxy.port}`;
        config.databaseUrl = u.toString();
      }
      const child = new Child(workerScript('instance'), {
        label: instanceId,
        env: { BENCH_WORKER: JSON.stringify(config) },
        keepMessages: true,
      });
      void child.wait().then(() => {
        if (this.killedAt.has(instanceId)) return;
        const t = wallClock();
        this.killedAt.set(instanceId, t);
        if (this.stopping) return;
        const lines = child.stderr
          .trim()
          .split('\n')
          .filter((l) => !l.startsWith('{') && !/^\s+at /.test(l) && l.trim() !== '');
        this.crashes.push({
          instanceId,
          t,
          exit: String(child.exitCode ?? child.signal),
          lastOutput: lines.slice(-12).join('\n'),
        });
        this.onCrash?.(instanceId);
      });
      child.on((m: WorkerMessage) => {
        if (m.type !== 'lr_start' && m.type !== 'lr_stop') return;
        const e: HandlerEvent = {
          type: m.type === 'lr_start' ? 'start' : 'stop',
          agentId: String(m.agentId),
          owner: instanceId,
          epoch: Number(m.epoch),
          reason: (m.reason as string | null | undefined) ?? null,
          t: Number(m.t),
        };
        this.events.push(e);
        for (const l of [...this.listeners]) l(e);
      });
      this.children.set(instanceId, child);
      spawned.push(child);
    }
    if (options.waitReady === false) {
      await Promise.all(spawned.map((c) => c.waitFor((m) => m.type === 'starting', 90_000, `${c.label} starting`)));
    } else {
      await Promise.all(spawned.map((c) => c.waitFor((m) => m.type === 'ready', 90_000, `${c.label} ready`)));
    }
    return spawned;
  }

  alive(): Child[] {
    return [...this.children.values()].filter((c) => !c.exited && !this.killedAt.has(c.label));
  }

  /** The instance whose handler for `agentId` started last and has not stopped (null: none). */
  runningOwner(agentId: string): string | null {
    const open = new Map<string, number>();
    for (const e of this.events) {
      if (e.agentId !== agentId) continue;
      if (e.type === 'start') open.set(e.owner, (open.get(e.owner) ?? 0) + 1);
      else open.set(e.owner, (open.get(e.owner) ?? 0) - 1);
    }
    const running = [...open.entries()].filter(([owner, n]) => n > 0 && !this.killedAt.has(owner)).map(([o]) => o);
    if (running.length === 0) return null;
    // The most recent start wins if (wrongly) more than one claims to run it.
    const last = [...this.events]
      .reverse()
      .find((e) => e.type === 'start' && e.agentId === agentId && running.includes(e.owner));
    return last?.owner ?? null;
  }

  /** Resolves with the first handler start of `agentId` after `after` on an instance other than `not`. */
  waitForStart(agentId: string, after: number, not: string | null, timeoutMs: number): Promise<HandlerEvent> {
    const match = (e: HandlerEvent) => e.type === 'start' && e.agentId === agentId && e.t > after && e.owner !== not;
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(l);
        reject(new Error(`no new owner of ${agentId} within ${timeoutMs} ms`));
      }, timeoutMs);
      const l = (e: HandlerEvent) => {
        if (!match(e)) return;
        clearTimeout(timer);
        this.listeners.delete(l);
        resolve(e);
      };
      this.listeners.add(l);
    });
  }

  /** Waits until `agentId` has had one running owner and no start/stop for `quietMs`. */
  async waitStable(agentId: string, quietMs: number, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const owner = this.runningOwner(agentId);
      const last = [...this.events].reverse().find((e) => e.agentId === agentId);
      const quiet = last ? performance.timeOrigin + performance.now() - last.t : 0;
      if (owner && quiet >= quietMs) return owner;
      if (Date.now() > deadline) throw new Error(`${agentId} did not settle on one owner within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  kill(instanceId: string, t: number): void {
    this.killedAt.set(instanceId, t);
    this.children.get(instanceId)?.kill('SIGKILL');
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.alive().map((c) => c.request({ type: 'stop' }, 30_000).catch(() => c.kill('SIGKILL'))));
    for (const c of this.children.values()) c.kill('SIGKILL');
    await Promise.all([...this.children.values()].map((c) => c.wait()));
    for (const p of this.proxies.values()) await p.close().catch(() => {});
  }
}
