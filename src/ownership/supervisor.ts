import type { Runtime } from '../runtime.js';
import type { LockSession } from './lockSession.js';
import type { OwnershipMetricsState } from './metrics.js';
import { AgentRunner, type ClaimedAgent, type RunnerOutcome } from './runner.js';
import { DESIRED_AGENTS_SQL, RELEASE_AGENT_SQL, RESTORE_OWNER_SQL } from './sql/agentWrites.js';
import { CLAIM_AGENTS_SQL } from './sql/claimAgents.js';
import type { AbortReason, ResolvedOwnershipOptions } from './types.js';

/**
 * The handlers running on this instance: at most one runner per agent, started when this instance
 * takes an agent over (epoch bumped on the shard's lock session) and stopped when the desired
 * state says so, the shard is handed over, or ownership is lost.
 */
export class AgentSupervisor {
  readonly runners = new Map<string, AgentRunner>();
  /** Agents whose handler is being stopped (desired state inactive): not restarted meanwhile. */
  readonly stopping = new Map<string, Promise<void>>();

  constructor(
    private readonly rt: Runtime,
    private readonly options: ResolvedOwnershipOptions,
    private readonly metrics: OwnershipMetricsState,
    private readonly kinds: string[],
    private readonly accepting: () => boolean,
    private readonly kick: () => void,
  ) {}

  /**
   * Takes the active agents of `shards` (or only `ids` of them) over: epoch + 1 on the LOCK
   * SESSION, which holds those shards (CLAIM_AGENTS_SQL says why), then starts their handlers.
   */
  async claim(session: LockSession, shards: number[], ids: string[] | null): Promise<boolean> {
    let rows: any[];
    try {
      rows = await session.query(CLAIM_AGENTS_SQL, [this.rt.instanceId, shards, this.kinds, ids]);
    } catch (err) {
      this.metrics.agents_restore_failed_total += ids?.length ?? 0;
      this.rt.reportError(err, 'long-running agent claim');
      return false;
    }
    for (const r of rows) {
      this.start({
        id: r.id,
        kind: r.kind,
        shard: r.shard,
        epoch: Number(r.epoch),
        config: r.config ?? {},
        checkpoint: r.checkpoint,
        restartCount: r.restart_count,
      });
    }
    return true;
  }

  private start(agent: ClaimedAgent): void {
    // Bumped but not started (stop() began): the shutdown release clears the owner again.
    if (!this.accepting()) return;
    this.runners.get(agent.id)?.abort('stale');
    const kind = this.rt.registry.longRunningKinds.get(agent.kind)!;
    const runner = new AgentRunner(agent, kind, {
      pool: this.rt.pool,
      instanceId: this.rt.instanceId,
      options: this.options,
      logger: this.rt.logger,
      metrics: this.metrics,
      reportError: this.rt.reportError,
    });
    this.runners.set(agent.id, runner);
    runner.start();
    void runner.done.then((outcome) => this.onExit(runner, outcome));
    this.metrics.agents_restored_total++;
    this.metrics.agents_running = this.runners.size;
    this.rt.logger.info({ agentId: agent.id, kind: agent.kind, epoch: agent.epoch, shard: agent.shard }, 'agent restored successfully');
  }

  private onExit(runner: AgentRunner, outcome: RunnerOutcome): void {
    if (this.runners.get(runner.id) === runner) this.runners.delete(runner.id);
    if (outcome === 'stale') this.rt.logger.warn({ agentId: runner.id, epoch: runner.epoch }, 'long-running agent fenced off: another owner has a newer epoch');
    this.metrics.agents_running = this.runners.size;
  }

  /** Aborts the handlers of `shards`; they are forgotten at once (lost) or when they return. */
  abortShards(shards: Set<number>, reason: AbortReason, forget: boolean): AgentRunner[] {
    const hit = [...this.runners.values()].filter((r) => shards.has(r.shard));
    for (const r of hit) {
      r.abort(reason);
      if (forget) this.runners.delete(r.id);
    }
    this.metrics.agents_running = this.runners.size;
    return hit;
  }

  /** Running handlers per shard (the emptiest shards are handed over first). */
  loadByShard(): Map<number, number> {
    const load = new Map<number, number>();
    for (const r of this.runners.values()) load.set(r.shard, (load.get(r.shard) ?? 0) + 1);
    return load;
  }

  /** Stops one agent's handler (bounded wait) and clears its owner, fenced by its epoch. */
  stop(runner: AgentRunner, reason: AbortReason): void {
    if (this.stopping.has(runner.id)) return;
    runner.abort(reason);
    const p = (async () => {
      if (!(await runner.waitDone(this.options.handoffTimeoutMs))) {
        this.rt.logger.warn({ agentId: runner.id }, 'long-running handler did not return within handoffTimeoutMs');
      }
      await this.rt.pool.query(RELEASE_AGENT_SQL, [runner.id, runner.epoch, false]).catch((err) => this.rt.reportError(err, 'long-running agent release'));
    })()
      .catch((err) => this.rt.reportError(err, 'long-running agent stop'))
      .finally(() => {
        this.stopping.delete(runner.id);
        if (this.runners.get(runner.id) === runner) this.runners.delete(runner.id);
        this.metrics.agents_running = this.runners.size;
        this.kick();
      });
    this.stopping.set(runner.id, p);
  }

  /**
   * Desired state vs what runs here, over the shards this instance holds (`held`: shard -> its
   * lock session): starts active agents that do not run, stops inactive ones that do. `ids` limits
   * it to some agents (a NOTIFY); null reads them all (the periodic pass, a resync).
   */
  async reconcile(held: Map<number, LockSession>, ids: string[] | null): Promise<void> {
    const mine = [...held.keys()];
    if (mine.length === 0) return;
    const rows = (await this.rt.pool.query(DESIRED_AGENTS_SQL, [mine, this.rt.instanceId, ids])).rows;
    const seen = new Set<string>();
    const toClaim = new Map<LockSession, string[]>();
    for (const row of rows) {
      seen.add(row.id);
      if (this.stopping.has(row.id)) continue;
      const runner = this.runners.get(row.id);
      if (row.active && !runner) {
        const session = held.get(row.shard);
        if (session && this.kinds.includes(row.kind)) toClaim.set(session, [...(toClaim.get(session) ?? []), row.id]);
      } else if (row.active && runner && !row.mine && Number(row.epoch) === runner.epoch) {
        // The mirror was cleared (cleanup found no instance row for us): say who runs it again.
        await this.rt.pool.query(RESTORE_OWNER_SQL, [row.id, runner.epoch, this.rt.instanceId]);
      } else if (!row.active && runner) {
        this.stop(runner, 'stopped');
      } else if (!row.active && row.mine) {
        await this.rt.pool.query(RELEASE_AGENT_SQL, [row.id, Number(row.epoch), false]);
      }
    }
    if (ids === null) {
      for (const runner of this.runners.values()) {
        if (!seen.has(runner.id) && held.has(runner.shard)) this.stop(runner, 'stopped'); // deleted
      }
    }
    for (const [session, agentIds] of toClaim) {
      const shards = [...held].filter(([, s]) => s === session).map(([shard]) => shard);
      if (!session.lost) await this.claim(session, shards, agentIds);
    }
  }

  /** Graceful stop: abort every handler and wait for them (bounded). Returns how many returned. */
  async shutdown(timeoutMs: number): Promise<{ total: number; saved: number }> {
    const runners = [...this.runners.values()];
    for (const r of runners) r.abort('shutdown');
    const done = await Promise.all(runners.map((r) => r.waitDone(timeoutMs)));
    await Promise.race([Promise.all(this.stopping.values()), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    this.runners.clear();
    this.metrics.agents_running = 0;
    return { total: runners.length, saved: done.filter(Boolean).length };
  }
}
