import type { Runtime } from '../runtime.js';
import { SessionsApi } from '../runs/api.js';
import { exportSession, holdSession, releaseSessionHold, type SessionExport, type SessionHold } from './sessions.js';

/**
 * `client.sessions`: the runs module's session reads plus what retention adds (export, holds),
 * kept here so the runs module does not depend on retention.
 */
export class SessionsWithRetentionApi extends SessionsApi {
  /** @internal */
  constructor(private readonly runtime: () => Runtime) {
    super(runtime);
  }

  /**
   * The session with its runs, messages, tool calls, compactions and hold as one JSON document
   * (one snapshot), e.g. before retention deletes it. NotFoundError when there is no such session.
   */
  async export(sessionId: string): Promise<SessionExport> {
    return await exportSession(this.runtime().pool, sessionId);
  }

  /**
   * Puts the session under a hold (legal hold): retention never deletes or archives it, nor its
   * child sessions, until releaseHold(). Holding again replaces reason and holder.
   */
  async hold(sessionId: string, options: { reason?: string; heldBy?: string } = {}): Promise<SessionHold> {
    return await holdSession(this.runtime().pool, sessionId, options);
  }

  /** Lifts the session's hold; false when it had none. */
  async releaseHold(sessionId: string): Promise<boolean> {
    return await releaseSessionHold(this.runtime().pool, sessionId);
  }
}
