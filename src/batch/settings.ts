/**
 * [batch] Settings of batch mode (config `batch`), with their defaults. Batch mode itself is asked
 * for per run (`enqueue(..., { batch: true })`) or per agent (`defineAgent({ batch: true })`).
 */

/** config.batch.pollIntervalMs when unset: one poll pass per 30 s across the cluster. */
export const BATCH_POLL_INTERVAL_DEFAULT_MS = 30_000;
/** config.batch.maxRequestsPerBatch when unset (the API takes up to 100,000 and 256 MB per batch). */
export const BATCH_MAX_REQUESTS_DEFAULT = 10_000;
/** config.batch.maxTries when unset: tries of one model call through batches (errored/expired results). */
export const BATCH_MAX_TRIES_DEFAULT = 3;
/**
 * config.batch.reconcileAfterMs when unset: a submission whose create request's outcome is unknown
 * (its pass died) is reconciled only once it is this old, so a create still in flight on the
 * server has landed in the batch list by then.
 */
export const BATCH_RECONCILE_AFTER_DEFAULT_MS = 60_000;

/** The points of a poll pass config.batch.onStep is called at (tests kill a process there). */
export type BatchStepName = 'submission_recorded' | 'batch_created' | 'batch_recorded' | 'results_stored';

export interface BatchStepInfo {
  /** agentpg_batch_submissions.id */
  submissionId: string;
  /** The API's batch id, from `batch_created` on. */
  batchId?: string;
  customIds: string[];
}

export interface BatchSettings {
  /** How often one instance of the cluster runs a poll pass (submit pending requests, poll, store results). Default 30 s. */
  pollIntervalMs?: number;
  /** Requests per batch created (more pending requests make more batches in the same pass). Default 10,000. */
  maxRequestsPerBatch?: number;
  /** Tries of one model call whose result was errored (retryable), expired or canceled. Default 3. */
  maxTries?: number;
  /** See BATCH_RECONCILE_AFTER_DEFAULT_MS. Default 60 s. */
  reconcileAfterMs?: number;
  /**
   * Called on the instance running the poll pass, awaited, at each point: `submission_recorded`
   * (the submission row and its requests committed, before the create request),
   * `batch_created` (the API answered with the batch id, nothing recorded yet), `batch_recorded`
   * (the batch id committed), `results_stored` (results committed, runs resumed). For tracing and
   * crash tests; a throw is reported to onError.
   */
  onStep?: (step: BatchStepName, info: BatchStepInfo) => void | Promise<void>;
}

export interface ResolvedBatchSettings {
  pollIntervalMs: number;
  maxRequestsPerBatch: number;
  maxTries: number;
  reconcileAfterMs: number;
  onStep?: BatchSettings['onStep'];
}

export function resolveBatchSettings(s: BatchSettings | undefined): ResolvedBatchSettings {
  return {
    pollIntervalMs: s?.pollIntervalMs ?? BATCH_POLL_INTERVAL_DEFAULT_MS,
    maxRequestsPerBatch: s?.maxRequestsPerBatch ?? BATCH_MAX_REQUESTS_DEFAULT,
    maxTries: s?.maxTries ?? BATCH_MAX_TRIES_DEFAULT,
    reconcileAfterMs: s?.reconcileAfterMs ?? BATCH_RECONCILE_AFTER_DEFAULT_MS,
    onStep: s?.onStep,
  };
}
