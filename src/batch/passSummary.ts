// What a batch poll pass did, apart from pass.ts: client.ts returns it publicly, and pass.ts's
// declarations reach the Runtime, whose pg-boss types do not type-check for consumers built with
// skipLibCheck: false (tsconfig.build.json, test/package/installed.test.ts).

/** What one batch poll pass did (client.runBatchPass(), BatchConfig.onPass). */
export interface BatchPassSummary {
  /** False when there was nothing to do (no pending request, no open batch) or another pass held the lock. */
  ran: boolean;
  /** Requests sent in new batches. */
  submitted: number;
  /** Batches polled. */
  polled: number;
  /** Runs resumed with a stored result. */
  resumed: number;
}
