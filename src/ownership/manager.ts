import { BackgroundService } from '../lifecycle/backgroundService.js';
import { errorForLog } from '../lifecycle/reportError.js';
import type { Runtime } from '../runtime.js';
import { planBalance } from './balance.js';
import { LockSession, sessionsNotProven, type LossReason } from './lockSession.js';
import { newMetrics, observeRestore } from './metrics.js';
import { LOCK_NAMESPACE } from './options.js';
import { OrphanTracker } from './orphans.js';
import { OWNERSHIP_CHANNEL } from '../events/channels.js';
import { acquireShards } from './sql/acquireShards.js';
import { countActiveAgents } from './sql/countActiveAgents.js';
import { ensureShards } from './sql/ensureShards.js';
import { notifyOwnership } from './sql/notifyOwnership.js';
import { pruneOwnershipLog } from './sql/pruneOwnershipLog.js';
import { releaseShards } from './sql/releaseShards.js';
import { slices } from './slices.js';
import { LEAVING_PREFIX, MEMBER_PREFIX, memberTag, readSnapshot } from './snapshot.js';
import { tryLockShards } from './sql/tryLockShards.js';
import { unlockAllShards } from './sql/unlockAllShards.js';
import { unlockShards } from './sql/unlockShards.js';
import { unrunnableAgents } from './sql/unrunnableAgents.js';
import { AgentSupervisor } from './supervisor.js';
import type { AbortReason, ResolvedOwnershipOptions } from './types.js';

/** Shards per releaseShards statement (~100 agents each at 100,000 agents). */
const RELEASE_SLICE = 32;

/**
 * Runs this instance's share of the long-running agents: holds shard locks on dedicated lock
 * sessions, claims orphaned shards (start-up, NOTIFY, and a sweep every `sweepIntervalMs`), sheds
 * shards above its fair share, starts/stops handlers as the desired state changes, and hands
 * everything over on stop(). All claims and sheds run one at a time in `sweep()`; losing a lock
 * session aborts its handlers at once, outside the loop. The sweep interval is ownership's
 * `sweepIntervalMs` (its default, with the other ownership defaults, is in options.ts).
 *
 * The first lock session is the instance's liveness session, given by `hostSession`
 * (src/cluster/liveness.ts): the shard locks then cost no connection of their own. It is adopted
 * (renamed a member), never opened or closed here: its loss reaches both owners, and a renewed one
 * is adopted at the next sweep. More sessions, beyond maxLocksPerSession, are opened here.
 */
export class OwnershipManager {
  readonly metrics = newMetrics();
  readonly tag: string;
  private sessions: LockSession[] = [];
  private readonly shardSession = new Map<number, LockSession>();
  private readonly agents: AgentSupervisor;
  private readonly releases = new Set<Promise<void>>();
  private readonly orphans: OrphanTracker;
  private readonly kinds: string[];
  private shardCount = 0;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  /** Runs sweep() every sweepIntervalMs and on kick(), one at a time. */
  private readonly sweeper: BackgroundService;
  private fullReconcileDue = true;
  private readonly pendingIds = new Set<string>();
  private lastReconcileAt = 0;
  private lastPruneAt = 0;
  private unsubscribe: (() => Promise<void>) | null = null;
  private unresync: (() => void) | null = null;
  /** The adopted liveness session while it holds this manager's first locks, and how to let go. */
  private hosted: { session: LockSession; off: () => void } | null = null;

  constructor(
    private readonly rt: Runtime,
    readonly options: ResolvedOwnershipOptions,
    /** The instance's liveness session, to hold shard locks on too (null while it is renewed). */
    private readonly hostSession: () => LockSession | null,
  ) {
    this.kinds = [...rt.registry.longRunningKinds.keys()];
    this.tag = memberTag(rt.instanceId);
    // Long enough that a live member below its share (it claims within a sweep) always wins.
    this.orphans = new OrphanTracker(Math.max(5 * options.sweepIntervalMs, 2 * options.heartbeatIntervalMs, 3000));
    this.agents = new AgentSupervisor(
      rt,
      options,
      this.metrics,
      this.kinds,
      () => this.state === 'running',
      () => void this.kick(),
    );
    this.sweeper = new BackgroundService({
      name: 'long-running ownership sweep',
      intervalMs: options.sweepIntervalMs,
      tick: () => this.sweep(),
      reportError: (err, context) => rt.reportError(err, context),
    });
  }

  /** Only instances that registered a long-running kind own shards; the API works everywhere. */
  get participating(): boolean {
    return this.kinds.length > 0;
  }

  /** Agent ids whose handler runs here now. */
  runningAgentIds(): string[] {
    return [...this.agents.runners.keys()];
  }

  heldShards(): number[] {
    return [...this.shardSession.keys()].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    if (!this.participating) {
      this.state = 'running';
      return;
    }
    const { pool, logger } = this.rt;
    await ensureShards(pool, this.options.shards);
    this.unsubscribe = await this.rt.events.subscribe(OWNERSHIP_CHANNEL, (p) => this.onNotification(p));
    this.unresync = this.rt.events.onResync(() => {
      this.fullReconcileDue = true;
      void this.kick();
    });
    this.state = 'running';
    this.sweeper.start();
    // Restoring the agents that should be running is simply the first sweep.
    logger.info({ kinds: this.kinds }, 'restoring running agents from database...');
    const restoredBefore = this.metrics.agents_restored_total;
    const failedBefore = this.metrics.agents_restore_failed_total;
    await this.kick();
    const { mine, total } = await countActiveAgents(pool, this.heldShards());
    const restored = this.metrics.agents_restored_total - restoredBefore;
    const failed = this.metrics.agents_restore_failed_total - failedBefore;
    const skipped = Math.max(0, total - mine);
    if (skipped > 0) {
      logger.info(
        { agents: skipped, shardsHeldElsewhere: this.shardCount - this.heldShards().length },
        'agent already running in another instance (lock held), skipping',
      );
    }
    logger.info({ total, restored, skipped, failed }, 'agent restoration complete');
  }

  /** Runs a sweep now, or right after the one in flight; resolves when it is done. */
  kick(): Promise<void> {
    if (this.state !== 'running') return Promise.resolve();
    return this.sweeper.wake();
  }

  private onNotification(payload: string): void {
    let msg: { e?: string; id?: string; shard?: number };
    try {
      msg = JSON.parse(payload);
    } catch {
      return;
    }
    if ((msg.e === 'start' || msg.e === 'stop') && typeof msg.id === 'string') {
      if (typeof msg.shard === 'number' && !this.shardSession.has(msg.shard)) return;
      this.pendingIds.add(msg.id);
    }
    void this.kick();
  }

  private async sweep(): Promise<void> {
    this.sessions = this.sessions.filter((s) => !s.lost);
    if (!this.hosted) await this.adoptHostSession();
    // Membership is having a lock session, even when holding nothing: the liveness session, which
    // src/cluster/liveness.ts renews (with backoff) when it is lost; until then no sweep.
    if (this.sessions.length === 0) return;

    const { shardCount, members, locks } = await readSnapshot(this.rt.background);
    if (this.state !== 'running') return;
    this.shardCount = shardCount;
    for (const session of sessionsNotProven(this.sessions, locks)) session.markLost('lock_mismatch');

    const now = Date.now();
    const orphans = this.orphans.observe(this.shardCount, new Set(locks.map((l) => l.shard)), now);

    const mineActive = this.sessions.reduce((n, s) => n + s.activeCount, 0);
    const plan = planBalance({ shardCount: this.shardCount, members, me: this.tag, locks, mineActive, orphans });
    if (plan.shed > 0) this.shed(plan.shed);
    if (plan.claim.length > 0) await this.claim(plan.claim);

    if (this.fullReconcileDue || now - this.lastReconcileAt >= this.options.reconcileIntervalMs) {
      this.fullReconcileDue = false;
      this.pendingIds.clear();
      this.lastReconcileAt = now;
      await this.agents.reconcile(this.activeShards(), null);
    } else if (this.pendingIds.size > 0) {
      const ids = [...this.pendingIds];
      this.pendingIds.clear();
      await this.agents.reconcile(this.activeShards(), ids);
    }
    // Extra sessions that hold nothing are closed; the first one stays (membership).
    for (const s of this.sessions.slice(1)) {
      if (s.held.size === 0 && s.releasing.size === 0) {
        this.sessions = this.sessions.filter((x) => x !== s);
        await s.close();
      }
    }
    if (now - this.lastPruneAt > 60_000) {
      this.lastPruneAt = now;
      await pruneOwnershipLog(this.rt.background, this.options.logRetentionMs).catch((err) =>
        this.rt.reportError(err, 'ownership log prune'),
      );
    }
    this.updateGauges();
  }

  /** Takes the liveness session as the first lock session (a member from its new name on). */
  private async adoptHostSession(): Promise<void> {
    const session = this.hostSession();
    if (!session || session.lost) return;
    await session.setApplicationName(MEMBER_PREFIX + this.tag);
    if (session.lost || this.state !== 'running') return;
    const off = session.onLoss((s, reason, err) => {
      if (this.hosted?.session === s) this.hosted = null;
      off();
      this.onSessionLost(s, reason, err);
    });
    this.hosted = { session, off };
    this.sessions.unshift(session);
  }

  private async openSession(): Promise<LockSession> {
    const session = await LockSession.open({
      connectionString: this.rt.config.databaseUrl,
      applicationName: MEMBER_PREFIX + this.tag,
      options: this.options,
      onLost: (s, reason, err) => this.onSessionLost(s, reason, err),
    });
    if (this.state !== 'running') {
      await session.close();
      throw new Error('ownership manager stopped');
    }
    this.sessions.push(session);
    return session;
  }

  private async claim(shards: number[]): Promise<void> {
    const started = Date.now();
    const L = this.options.maxLocksPerSession;
    const maxSessions = Math.ceil(this.shardCount / L) + 1;
    const remaining = shards.slice();
    for (let i = 0; remaining.length > 0 && this.state === 'running'; i++) {
      let session = this.sessions.filter((s) => !s.lost && !s.closing)[i];
      if (!session) {
        if (this.sessions.length >= maxSessions) break;
        session = await this.openSession();
      }
      const batch = remaining.splice(0, Math.max(0, L - session.held.size));
      if (batch.length > 0) await this.claimOn(session, batch);
    }
    observeRestore(this.metrics, (Date.now() - started) / 1000);
  }

  private async claimOn(session: LockSession, shards: number[]): Promise<void> {
    let got: number[];
    try {
      got = await tryLockShards(session, LOCK_NAMESPACE, shards);
    } catch (err) {
      // Which locks the failed statement took is unknown: end the session, which frees them all.
      session.markLost('statement_failed', err);
      return;
    }
    this.metrics.agent_lock_acquire_total += got.length;
    this.metrics.agent_lock_acquire_failed_total += shards.length - got.length;
    if (got.length === 0) return;
    for (const s of got) {
      session.held.add(s);
      this.shardSession.set(s, session);
      this.orphans.taken(s);
    }
    try {
      await acquireShards(session, this.rt.instanceId, got);
    } catch (err) {
      this.rt.reportError(err, 'long-running shard acquisition');
      if (!session.lost) await this.unlock(session, got);
      return;
    }
    if (!(await this.agents.claim(session, got, null))) this.fullReconcileDue = true;
    const unrunnable = await unrunnableAgents(this.rt.pool, got, this.kinds);
    for (const a of unrunnable) {
      this.metrics.agents_restore_failed_total++;
      this.rt.logger.warn(
        { agentId: a.id, kind: a.kind },
        'agent restore failed: its kind is not registered on this instance',
      );
    }
  }

  /** Shards held and not being handed over, with their lock session. */
  private activeShards(): Map<number, LockSession> {
    const held = new Map<number, LockSession>();
    for (const s of this.sessions) {
      if (s.lost) continue;
      for (const shard of s.held) if (!s.releasing.has(shard)) held.set(shard, s);
    }
    return held;
  }

  /**
   * Hands `count` shards over to instances below their share. Shards are taken evenly across the
   * load (sorted by running agents, every k-th one), so the agents this instance keeps stay close
   * to its fair share even when many shards are empty (fewer agents than shards).
   */
  private shed(count: number): void {
    const load = this.agents.loadByShard();
    const held = this.sessions
      .filter((s) => !s.lost)
      .flatMap((s) => [...s.held].filter((x) => !s.releasing.has(x)).map((shard) => ({ shard, s })))
      .sort((a, b) => (load.get(b.shard) ?? 0) - (load.get(a.shard) ?? 0));
    const picked: typeof held = [];
    const step = held.length / count;
    for (let i = 0; i < count && i < held.length; i++) picked.push(held[Math.floor(i * step)]);
    const bySession = new Map<LockSession, number[]>();
    for (const { shard, s } of picked) bySession.set(s, [...(bySession.get(s) ?? []), shard]);
    for (const [s, shards] of bySession) this.release(s, shards, 'rebalance');
  }

  /** Graceful hand-over: abort, wait for the handlers (bounded), clear ownership rows, unlock, NOTIFY. */
  private release(session: LockSession, shards: number[], reason: AbortReason): void {
    for (const s of shards) session.releasing.add(s);
    const set = new Set(shards);
    const p: Promise<void> = (async () => {
      const runners = this.agents.abortShards(set, reason, false);
      const done = await Promise.all(runners.map((r) => r.waitDone(this.options.handoffTimeoutMs)));
      if (done.includes(false))
        this.rt.logger.warn(
          { shards },
          'long-running handlers did not return within handoffTimeoutMs, handing over anyway',
        );
      // In slices: one statement over 256 shards (~25,000 agents at 100,000) could outlast the
      // lock session's statement_timeout, and a failed statement gives up the whole session.
      // Each slice's rows are released (durable at that statement's commit) before its unlock.
      for (const slice of slices(shards, RELEASE_SLICE)) {
        if (session.lost) return;
        try {
          await releaseShards(session, this.rt.instanceId, slice, reason);
        } catch (err) {
          session.markLost('statement_failed', err);
          return;
        }
        await this.unlock(session, slice);
        // Unlocked shards leave `releasing` at once: activeCount = held - releasing needs
        // releasing ⊆ held, or this instance would think itself below its share meanwhile.
        for (const x of slice) if (!session.held.has(x)) session.releasing.delete(x);
      }
      await this.notifyReleased();
    })()
      .catch((err) => this.rt.reportError(err, 'long-running shard hand-over'))
      .finally(() => {
        for (const s of shards) session.releasing.delete(s);
        this.releases.delete(p);
        this.updateGauges();
      });
    this.releases.add(p);
  }

  private async unlock(session: LockSession, shards: number[]): Promise<void> {
    try {
      await unlockShards(session, LOCK_NAMESPACE, shards);
    } catch (err) {
      session.markLost('statement_failed', err);
      return;
    }
    for (const s of shards) {
      session.held.delete(s);
      if (this.shardSession.get(s) === session) this.shardSession.delete(s);
    }
  }

  private async notifyReleased(): Promise<void> {
    await notifyOwnership(this.rt.pool, { e: 'released' }).catch((err) =>
      this.rt.reportError(err, 'long-running release notify'),
    );
  }

  /** The lease ran out or the connection died: abort every handler of its shards at once. */
  private onSessionLost(session: LockSession, reason: LossReason, err?: unknown): void {
    this.metrics.agent_lock_lost_total += session.held.size;
    this.rt.logger.warn(
      {
        reason,
        shards: session.held.size,
        pid: session.pid,
        err: err === undefined ? undefined : errorForLog(err),
      },
      'lost a lock session: aborting its long-running agents',
    );
    this.agents.abortShards(session.held, 'lost', true);
    for (const s of session.held) if (this.shardSession.get(s) === session) this.shardSession.delete(s);
    session.held.clear();
    this.sessions = this.sessions.filter((s) => s !== session);
    this.updateGauges();
    void this.kick();
  }

  private updateGauges(): void {
    this.metrics.agent_lock_held = this.sessions.reduce((n, s) => n + (s.lost ? 0 : s.held.size), 0);
    this.metrics.lock_sessions = this.sessions.filter((s) => !s.lost).length;
    this.metrics.agents_running = this.agents.runners.size;
  }

  /**
   * Graceful stop (client.stop()): leave the membership first (others now count their share without
   * us), abort every handler, wait for them to save (shutdownTimeoutMs), clear ownership rows,
   * unlock everything, NOTIFY so the others claim at once, close the lock sessions.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    const started = Date.now();
    const { logger, config } = this.rt;
    // No sweep starts after this; the one in flight is waited for, but only so long (its
    // statements are bounded by the lock sessions' statement_timeout; the pool's are not).
    const timeout = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());
    const sweeping = this.sweeper.stop();
    this.unresync?.();
    await this.unsubscribe?.().catch(() => {});
    await Promise.race([sweeping, timeout(this.options.clientLeaseMs)]);
    await Promise.all(this.sessions.map((s) => s.setApplicationName(LEAVING_PREFIX + this.tag).catch(() => {})));
    const { total, saved } = await this.agents.shutdown(config.shutdownTimeoutMs);
    await Promise.race([Promise.all(this.releases), timeout(config.shutdownTimeoutMs)]);
    for (const s of this.sessions) {
      if (s.lost) continue;
      const hosted = this.hosted?.session === s;
      try {
        for (const slice of slices([...s.held], RELEASE_SLICE))
          await releaseShards(s, this.rt.instanceId, slice, 'shutdown');
        // The liveness session keeps its liveness lock: only the shard locks go.
        if (hosted) {
          await unlockShards(s, LOCK_NAMESPACE, [...s.held]);
          s.held.clear();
        } else await unlockAllShards(s);
      } catch (err) {
        this.rt.reportError(err, 'long-running shutdown release');
      }
      if (!hosted) await s.close();
    }
    this.hosted?.off();
    this.hosted = null;
    this.sessions = [];
    this.shardSession.clear();
    if (this.participating) await this.notifyReleased();
    this.metrics.shutdown_duration_seconds = (Date.now() - started) / 1000;
    this.metrics.agents_saved_on_shutdown += saved;
    this.updateGauges();
    this.state = 'stopped';
    logger.info({ agents: total, saved, durationMs: Date.now() - started }, 'long-running agents handed over');
  }
}
