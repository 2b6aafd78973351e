import type { Runtime } from '../runtime.js';
import type { LockSession } from './lockSession.js';
import type { OwnershipMetricsState } from './metrics.js';
import { AgentRunner, type ClaimedAgent, type RunnerOutcome } from './runner.js';
import { claimAgents, type ClaimedAgentRow } from './sql/claimAgents.js';
import { desiredAgents } from './sql/desiredAgents.js';
import { releaseAgent } from './sql/releaseAgent.js';
import { restoreOwner } from './sql/restoreOwner.js';
import { yieldToEventLoop } from './slices.js';
import type { AbortReason, ResolvedOwnershipOptions } from './types.js';

/** Shards per claimAgents statement (~100 agents per shard at 100,000 agents, 1024 shards). */
const CLAIM_SHARDS_PER_STATEMENT = 16;
/** Agent ids per claimAgents statement when claiming by id (reconcile, NOTIFY). */
const CLAIM_IDS_PER_STATEMENT = 2000;
/** Handlers started between two yields to the event loop. */
const START_CHUNK = 250;

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
   * SESSION, which holds those shards (claimAgents says why), then starts their handlers.
   *
   * At 100,000 agents one statement per session would bump ~25,000 rows (and fire as many
   * ownership triggers) while the session's heartbeat waits behind it and its statement_timeout
   * runs: the work goes in slices of CLAIM_SHARDS_PER_STATEMENT shards / CLAIM_IDS_PER_STATEMENT
   * ids, each its own statement (each durable at its own commit), so heartbeats run between them.
   * Handlers start in chunks with a yield to the event loop between, so lease timers, heartbeats
   * and the LISTEN connection stay on time.
   */
  async claim(session: LockSession, shards: number[], ids: string[] | null): Promise<boolean> {
    const slices: Array<{ shards: number[]; ids: string[] | null }> = [];
    if (ids === null) {
      for (let i = 0; i < shards.length; i += CLAIM_SHARDS_PER_STATEMENT)
        slices.push({ shards: shards.slice(i, i + CLAIM_SHARDS_PER_STATEMENT), ids: null });
    } else {
      for (let i = 0; i < ids.length; i += CLAIM_IDS_PER_STATEMENT)
        slices.push({ shards, ids: ids.slice(i, i + CLAIM_IDS_PER_STATEMENT) });
    }
    for (let n = 0; n < slices.length; n++) {
      const slice = slices[n];
      if (session.lost || !this.accepting()) return true;
      let rows: ClaimedAgentRow[];
      try {
        rows = await claimAgents(session, this.rt.instanceId, slice.shards, this.kinds, slice.ids);
      } catch (err) {
        this.metrics.agents_restore_failed_total += slices.slice(n).reduce((k, x) => k + (x.ids?.length ?? 0), 0);
        this.rt.reportError(err, 'long-running agent claim');
        return false;
      }
      if (rows.length > 0) {
        this.rt.logger.info({ count: rows.length, shards: slice.shards.length }, 'found agents to restore');
      }
      for (let i = 0; i < rows.length; i++) {
        if (i > 0 && i % START_CHUNK === 0) await yieldToEventLoop();
        const r = rows[i];
        // Debug: 'agent restored successfully' (info) follows with the same fields; two info
        // lines per agent cost measurable time when an instance takes 25,000 agents over.
        this.rt.logger.debug({ agentId: r.id, epoch: Number(r.epoch), shard: r.shard }, 'restoring agent');
        // Re-checked per agent because of the yields: a session lost (its handlers were aborted
        // by onSessionLost) or a shard being handed over meanwhile must not get a new handler.
        // Its bumped epoch is harmless: the next owner bumps again.
        if (session.lost || !session.held.has(r.shard) || session.releasing.has(r.shard)) continue;
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
      onFailed: this.rt.config.onLongRunningAgentFailed,
    });
    this.runners.set(agent.id, runner);
    runner.start();
    void runner.done.then((outcome) => this.onExit(runner, outcome));
    this.metrics.agents_restored_total++;
    this.metrics.agents_running = this.runners.size;
    this.rt.logger.info(
      { agentId: agent.id, kind: agent.kind, epoch: agent.epoch, shard: agent.shard },
      'agent restored successfully',
    );
  }

  private onExit(runner: AgentRunner, outcome: RunnerOutcome): void {
    if (this.runners.get(runner.id) === runner) this.runners.delete(runner.id);
    if (outcome === 'failed') this.metrics.agents_failed_total++;
    if (outcome === 'stale')
      this.rt.logger.warn(
        { agentId: runner.id, epoch: runner.epoch },
        'long-running agent fenced off: another owner has a newer epoch',
      );
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
      await releaseAgent(this.rt.pool, runner.id, runner.epoch, false).catch((err) =>
        this.rt.reportError(err, 'long-running agent release'),
      );
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
    const rows = await desiredAgents(this.rt.background, mine, this.rt.instanceId, ids);
    const seen = new Set<string>();
    const toClaim = new Map<LockSession, string[]>();
    const restore: Array<{ id: string; epoch: number }> = [];
    for (const row of rows) {
      seen.add(row.id);
      if (this.stopping.has(row.id)) continue;
      const runner = this.runners.get(row.id);
      if (row.active && !runner) {
        const session = held.get(row.shard);
        if (session && this.kinds.includes(row.kind)) {
          // push, not spread: a spread per row made this quadratic (25,000 rows per session).
          let list = toClaim.get(session);
          if (!list) toClaim.set(session, (list = []));
          list.push(row.id);
        }
      } else if (row.active && runner && !row.mine && Number(row.epoch) === runner.epoch) {
        // The mirror was cleared (cleanup found no instance row for us): say who runs it again.
        restore.push({ id: row.id, epoch: runner.epoch });
      } else if (!row.active && runner) {
        this.stop(runner, 'stopped');
      } else if (!row.active && row.mine) {
        await releaseAgent(this.rt.pool, row.id, Number(row.epoch), false);
      }
    }
    for (let i = 0; i < restore.length; i += CLAIM_IDS_PER_STATEMENT) {
      const slice = restore.slice(i, i + CLAIM_IDS_PER_STATEMENT);
      await restoreOwner(this.rt.pool, slice, this.rt.instanceId);
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
