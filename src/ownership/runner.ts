import type pg from 'pg';
import { StaleOwnerError, redactSecrets } from '../errors.js';
import type { Logger } from '../logger.js';
import type { OwnershipMetricsState } from './metrics.js';
import { FENCE_ROW_SQL, RECORD_RESTART_SQL, RELEASE_AGENT_SQL, SAVE_CHECKPOINT_SQL } from './sql/agentWrites.js';
import type { AbortReason, LongRunningContext, LongRunningKind, ResolvedOwnershipOptions } from './types.js';

export interface ClaimedAgent {
  id: string;
  kind: string;
  shard: number;
  epoch: number;
  config: Record<string, unknown>;
  checkpoint: unknown;
  restartCount: number;
}

export type RunnerOutcome = 'aborted' | 'finished' | 'stale';

interface RunnerDeps {
  pool: pg.Pool;
  instanceId: string;
  options: ResolvedOwnershipOptions;
  logger: Logger;
  metrics: OwnershipMetricsState;
  reportError(err: unknown, context?: string): void;
}

/** Saves a checkpoint with the owner's epoch; StaleOwnerError when another acquisition fenced it. */
export async function writeCheckpoint(pool: pg.Pool, agentId: string, epoch: number, checkpoint: unknown): Promise<void> {
  const res = await pool.query(SAVE_CHECKPOINT_SQL, [agentId, epoch, JSON.stringify(checkpoint ?? null)]);
  if (res.rowCount === 0) throw new StaleOwnerError(agentId, epoch);
}

/**
 * Runs `fn` in a transaction whose first statement locks the agent's row if, and only if, `epoch`
 * is still the agent's: the transaction commits before the next acquisition (which waits for the
 * row lock) or fails. The server ends the transaction if it sits idle longer than `idleLimitMs`, so
 * a cut-off owner never keeps the row locked for long.
 */
export async function fencedTransaction<T>(
  pool: pg.Pool,
  agentId: string,
  epoch: number,
  idleLimitMs: number,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  // A checked-out client has no error listener of the pool's: a FATAL that arrives between two
  // statements (the server ended the idle transaction, a terminated backend) would otherwise be
  // an unhandled 'error' event that kills the process.
  const onError = () => {
    broken = true;
  };
  client.on('error', onError);
  try {
    await client.query('begin');
    await client.query(`select set_config('idle_in_transaction_session_timeout', $1, true)`, [String(idleLimitMs)]);
    const fence = await client.query(FENCE_ROW_SQL, [agentId, epoch]);
    if (fence.rowCount === 0) throw new StaleOwnerError(agentId, epoch);
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => {
      broken = true;
    });
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/**
 * One agent's handler on this instance, for one ownership (one epoch): starts it, restarts it with
 * exponential backoff when it throws, and ends when its signal aborts, a fenced write finds a newer
 * epoch, or the handler returns by itself (the agent finished: set inactive).
 */
export class AgentRunner {
  readonly controller = new AbortController();
  abortReason: AbortReason | null = null;
  checkpoint: unknown;
  restartCount: number;
  done: Promise<RunnerOutcome> = Promise.resolve('aborted');
  readonly startedAt = Date.now();

  constructor(
    readonly agent: ClaimedAgent,
    private readonly kind: LongRunningKind,
    private readonly deps: RunnerDeps,
  ) {
    this.checkpoint = agent.checkpoint;
    this.restartCount = agent.restartCount;
  }

  get id(): string {
    return this.agent.id;
  }

  get shard(): number {
    return this.agent.shard;
  }

  get epoch(): number {
    return this.agent.epoch;
  }

  start(): void {
    this.done = this.loop().catch((err) => {
      this.deps.reportError(err, `long-running agent ${this.id}`);
      return 'aborted' as const;
    });
  }

  abort(reason: AbortReason): void {
    if (this.controller.signal.aborted) return;
    this.abortReason = reason;
    this.controller.abort(new Error(`long-running agent ${this.id}: ${reason}`));
  }

  /** Resolves true when the handler returned within `ms`. */
  async waitDone(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => {
      timer = setTimeout(() => r(false), ms);
    });
    const ok = await Promise.race([this.done.then(() => true), timeout]);
    clearTimeout(timer);
    return ok;
  }

  private context(): LongRunningContext {
    const { pool, options, logger, instanceId } = this.deps;
    const runner = this;
    const { id, epoch } = this.agent;
    const onStale = (err: unknown): never => {
      if (err instanceof StaleOwnerError) {
        this.deps.metrics.agent_stale_writes_total++;
        this.abort('stale');
      }
      throw err;
    };
    return {
      agentId: id,
      kind: this.agent.kind,
      config: this.agent.config,
      checkpoint: this.checkpoint,
      epoch,
      instanceId,
      signal: this.controller.signal,
      get abortReason() {
        return runner.abortReason;
      },
      restartCount: this.restartCount,
      // Lazy: a pino child per agent cost measurable time when 25,000 handlers start at once.
      get logger() {
        const child = logger.child({ agentId: id, epoch });
        Object.defineProperty(this, 'logger', { value: child, enumerable: true });
        return child;
      },
      saveCheckpoint: async (checkpoint: unknown) => {
        await writeCheckpoint(pool, id, epoch, checkpoint).catch(onStale);
        this.checkpoint = checkpoint;
      },
      fenced: <T>(fn: (client: pg.PoolClient) => Promise<T>) =>
        fencedTransaction(pool, id, epoch, options.clientLeaseMs, fn).catch(onStale),
    };
  }

  private async loop(): Promise<RunnerOutcome> {
    const { signal } = this.controller;
    const { options, metrics, logger } = this.deps;
    let failures = 0;
    while (!signal.aborted) {
      const attemptStart = Date.now();
      try {
        await this.kind.handler(this.context());
        if (signal.aborted) break;
        // Returned by itself: the agent is done. Fenced, so a stale owner cannot deactivate it.
        await this.deps.pool.query(RELEASE_AGENT_SQL, [this.id, this.epoch, true]);
        logger.info({ agentId: this.id }, 'long-running agent finished');
        return 'finished';
      } catch (err) {
        if (err instanceof StaleOwnerError || this.abortReason === 'stale') return 'stale';
        if (signal.aborted) break;
        failures = Date.now() - attemptStart > options.restartBackoffMaxMs ? 1 : failures + 1;
        metrics.agent_restarts_total++;
        const message = redactSecrets(err instanceof Error ? err.message : String(err)).slice(0, 2000);
        const res = await this.deps.pool.query(RECORD_RESTART_SQL, [this.id, this.epoch, message]).catch(() => null);
        if (res && res.rowCount === 0) {
          this.abort('stale');
          return 'stale';
        }
        if (res) this.restartCount = res.rows[0].restart_count;
        const delay = Math.min(options.restartBackoffMs * 2 ** (failures - 1), options.restartBackoffMaxMs);
        logger.warn({ agentId: this.id, err: { message }, restartInMs: delay, restartCount: this.restartCount }, 'long-running agent handler failed, restarting');
        await sleep(delay, signal);
      }
    }
    return this.abortReason === 'stale' ? 'stale' : 'aborted';
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
