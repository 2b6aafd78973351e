import type pg from 'pg';
import { StaleOwnerError, redactSecrets } from '../errors.js';
import type { Logger } from '../logger.js';
import type { OwnershipMetricsState } from './metrics.js';
import { fenceAgentRow } from './sql/fenceAgentRow.js';
import { recordRestart } from './sql/recordRestart.js';
import { releaseAgent } from './sql/releaseAgent.js';
import { saveCheckpoint } from './sql/saveCheckpoint.js';
import { giveUpAgent } from './sql/giveUpAgent.js';
import type {
  AbortReason,
  LongRunningAgentFailure,
  LongRunningContext,
  LongRunningKind,
  ResolvedOwnershipOptions,
} from './types.js';
import { backoffDelay } from '../lifecycle/backoff.js';
import { errorForLog } from '../lifecycle/reportError.js';
import { sleep } from '../lifecycle/sleep.js';

export interface ClaimedAgent {
  id: string;
  kind: string;
  shard: number;
  epoch: number;
  config: Record<string, unknown>;
  checkpoint: unknown;
  restartCount: number;
}

export type RunnerOutcome = 'aborted' | 'finished' | 'stale' | 'failed';

interface RunnerDeps {
  pool: pg.Pool;
  instanceId: string;
  options: ResolvedOwnershipOptions;
  logger: Logger;
  metrics: OwnershipMetricsState;
  reportError: (err: unknown, context?: string) => void;
  /** `onLongRunningAgentFailed` of the config: called once when this runner gives up. */
  onFailed?: (failure: LongRunningAgentFailure) => void;
}

/** Saves a checkpoint with the owner's epoch; StaleOwnerError when another acquisition fenced it. */
export async function writeCheckpoint(
  pool: pg.Pool,
  agentId: string,
  epoch: number,
  checkpoint: unknown,
): Promise<void> {
  if (!(await saveCheckpoint(pool, agentId, epoch, JSON.stringify(checkpoint ?? null))))
    throw new StaleOwnerError(agentId, epoch);
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
    if (!(await fenceAgentRow(client, agentId, epoch))) throw new StaleOwnerError(agentId, epoch);
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
 * epoch, the handler returns by itself (the agent finished: set inactive), or it threw more than
 * maxRestarts times within restartWindowMs (the agent failed: set inactive and failed, so no other
 * instance takes the crash loop over).
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
    /** When the handler threw, within the last restartWindowMs (the give-up policy counts these). */
    const failedAt: number[] = [];
    while (!signal.aborted) {
      const attemptStart = Date.now();
      try {
        await this.kind.handler(this.context());
        if (signal.aborted) break;
        // Returned by itself: the agent is done. Fenced, so a stale owner cannot deactivate it.
        await releaseAgent(this.deps.pool, this.id, this.epoch, true);
        logger.info({ agentId: this.id }, 'long-running agent finished');
        return 'finished';
      } catch (err) {
        if (err instanceof StaleOwnerError || this.abortReason === 'stale') return 'stale';
        if (signal.aborted) break;
        const now = Date.now();
        failures = now - attemptStart > options.restartBackoffMaxMs ? 1 : failures + 1;
        const message = redactSecrets(err instanceof Error ? err.message : String(err)).slice(0, 2000);
        while (failedAt.length > 0 && now - failedAt[0] > options.restartWindowMs) failedAt.shift();
        failedAt.push(now);
        if (failedAt.length > options.maxRestarts) return await this.giveUp(message, failedAt.length);
        metrics.agent_restarts_total++;
        // undefined: the write failed (logged below, retried at the next restart); null: fenced.
        const count = await recordRestart(this.deps.pool, this.id, this.epoch, message).catch(() => undefined);
        if (count === null) {
          this.abort('stale');
          return 'stale';
        }
        if (count !== undefined) this.restartCount = count;
        // No jitter: the restart delay is documented exactly (restartBackoffMs doubling up to the max).
        const delay = backoffDelay(failures, {
          baseMs: options.restartBackoffMs,
          maxMs: options.restartBackoffMaxMs,
          jitter: 0,
        });
        logger.warn(
          { agentId: this.id, err: errorForLog(err), restartInMs: delay, restartCount: this.restartCount },
          'long-running agent handler failed, restarting',
        );
        await sleep(delay, signal);
      }
    }
    return this.abortReason === 'stale' ? 'stale' : 'aborted';
  }

  /** Fenced: only the current owner fails the agent. The hook fires once, here, after the commit. */
  private async giveUp(lastError: string, failuresInWindow: number): Promise<RunnerOutcome> {
    const { pool, options, logger, onFailed } = this.deps;
    const row = await giveUpAgent(pool, this.id, this.epoch, lastError);
    if (!row) {
      this.abort('stale');
      return 'stale';
    }
    this.restartCount = row.restart_count;
    logger.error(
      {
        agentId: this.id,
        kind: this.agent.kind,
        epoch: this.epoch,
        err: { message: lastError },
        failures: failuresInWindow,
        windowMs: options.restartWindowMs,
        restartCount: this.restartCount,
      },
      'long-running agent failed: handler kept throwing, not restarting it',
    );
    try {
      onFailed?.({
        agentId: this.id,
        kind: this.agent.kind,
        epoch: this.epoch,
        restartCount: this.restartCount,
        lastError,
      });
    } catch (err) {
      this.deps.reportError(err, 'onLongRunningAgentFailed');
    }
    return 'failed';
  }
}
