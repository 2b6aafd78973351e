import { backoffDelay } from '../lifecycle/backoff.js';
import { sleep } from '../lifecycle/sleep.js';
import type { ReportError } from '../lifecycle/reportError.js';
import type { Logger } from '../logger.js';
import { LockSession, type LossReason } from '../ownership/lockSession.js';
import type { ResolvedOwnershipOptions } from '../ownership/types.js';
import { takeLivenessLock } from './sql/takeLivenessLock.js';

/** classid of every instance's liveness lock ("agpi"); the shard locks of ownership use "agpg". */
export const LIVENESS_NAMESPACE = 0x61677069;

/**
 * This instance's proof of life that other instances can read from the server: a dedicated lock
 * session (the same leases as long-running ownership: src/ownership/lockSession.ts) holding the
 * advisory lock (LIVENESS_NAMESPACE, its own pid). The instance row records that pid; when the
 * backend ends — the process was killed (at once), or it went silent past the server lease
 * (SIGSTOP, a partition) — the lock is gone and any survivor's failover (failover.ts) hands this
 * instance's runs back without waiting for a heartbeat TTL or a job expiry.
 *
 * When this side loses the session (its client lease ran out, the connection broke), survivors may
 * already be handing its runs back: `onLost` lets the instance give them up, then the session is
 * opened again (with backoff) and `onRenewed` re-registers the row with the new pid.
 *
 * The same session hosts the instance's long-running shard locks (`lockSession`, adopted by
 * src/ownership/manager.ts as its first lock session, renamed `agentpg-lock:<tag>`): one dedicated
 * connection for both, whose end means the same thing to the others for both — this instance is
 * gone. It never LISTENs: a listening backend writes every NOTIFY of the database to its client,
 * and a backend blocked writing to a stopped (SIGSTOP) or cut-off client never reaches
 * idle_session_timeout, so the server lease would not end it and the locks would outlive the
 * instance. The event listener keeps a connection of its own (src/events/listener.ts).
 */
export class LivenessSession {
  private session: LockSession | null = null;
  private closed = false;
  /** pid of the backend holding the lock now (null while there is none). */
  pid: number | null = null;
  losses = 0;

  constructor(
    private readonly o: {
      connectionString: string;
      instanceId: string;
      leases: ResolvedOwnershipOptions;
      logger: Logger;
      reportError: ReportError;
      onLost: (reason: LossReason) => void;
      onRenewed: (pid: number) => Promise<void>;
    },
  ) {}

  /** The session holding the lock now, while it is not lost (the ownership manager's host). */
  get lockSession(): LockSession | null {
    return this.session && !this.session.lost ? this.session : null;
  }

  /** Opens the session and takes the lock; the pid is then what the instance row records. */
  async open(): Promise<number> {
    const session = await LockSession.open({
      connectionString: this.o.connectionString,
      applicationName: `agentpg-liveness:${this.o.instanceId}`.slice(0, 63),
      options: this.o.leases,
      onLost: (s, reason, err) => this.lost(s, reason, err),
    });
    try {
      this.pid = await takeLivenessLock(session, LIVENESS_NAMESPACE);
    } catch (err) {
      await session.close();
      throw err;
    }
    this.session = session;
    return this.pid;
  }

  /** Ends the session (the server frees the lock with it). Called after the row was deleted. */
  async close(): Promise<void> {
    this.closed = true;
    const s = this.session;
    this.session = null;
    this.pid = null;
    await s?.close();
  }

  private lost(session: LockSession, reason: LossReason, err: unknown): void {
    if (this.closed || session !== this.session) return;
    this.session = null;
    this.pid = null;
    this.losses++;
    this.o.logger.warn(
      { reason, err: err instanceof Error ? err.message : undefined },
      'liveness session lost: other instances may hand this instance’s runs back; giving them up and renewing',
    );
    this.o.onLost(reason);
    void this.renew();
  }

  /** Reopens with backoff until it works or the instance closes. */
  private async renew(): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        const pid = await this.open();
        if (this.closed) {
          await this.close();
          return;
        }
        await this.o.onRenewed(pid);
        this.o.logger.info({ pid }, 'liveness session renewed');
        return;
      } catch (err) {
        this.o.reportError(err, 'liveness session: renewing');
        await sleep(backoffDelay(attempt, { baseMs: 200, maxMs: 5000 }));
      }
    }
  }
}
