/**
 * Every error agentpg throws on purpose is an AgentPGError with a stable `code`, so callers can
 * branch on `err.code` (or `instanceof`) instead of parsing messages. Messages never contain
 * secrets: connection strings are redacted before they reach an error.
 */
export class AgentPGError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The client was configured wrongly (missing database URL, bad interval, unknown tool name...). */
export class ConfigError extends AgentPGError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('config_error', message, options);
  }
}

/** The database could not be reached (after the configured retries). */
export class DatabaseUnavailableError extends AgentPGError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('database_unavailable', message, options);
  }
}

/** A name or id that does not exist: an agent, a run, a session, a long-running agent. */
export class NotFoundError extends AgentPGError {
  readonly kind: string;
  readonly id: string;
  constructor(kind: string, id: string) {
    super('not_found', `${kind} not found: ${id}`);
    this.kind = kind;
    this.id = id;
  }
}

/** Removes the password from anything that looks like a connection string, and API-key-like strings. */
export function redactSecrets(text: string): string {
  return text
    .replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/gi, '$1***@')
    .replace(/(sk-ant-[a-z0-9]{0,6})[a-z0-9_-]+/gi, '$1***');
}

/**
 * The one scrubber for text agentpg keeps, logs or sends on that did not come from agentpg itself
 * (model API errors, tool errors): the client's own secrets (`known`: its API key, its database
 * password), wherever they appear, then redactSecrets' patterns. Secrets shorter than 4
 * characters are not searched for (they would mangle ordinary text).
 */
export function scrubSecrets(text: string, known: readonly string[] = []): string {
  let out = text;
  for (const secret of known) if (secret.length >= 4) out = out.split(secret).join('***');
  return redactSecrets(out);
}

/** The password of a postgres:// connection string (decoded), or undefined. */
export function passwordOf(connectionString: string): string | undefined {
  try {
    const password = new URL(connectionString).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}

/** A public method got an argument it cannot accept (an empty prompt, an over-long tenant id...). */
export class ValidationError extends AgentPGError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_argument', message, options);
  }
}

/** The fields of a run the run errors carry (the full row is `Run` in `src/runs/types.ts`). */
export interface RunErrorDetails {
  id: string;
  state: string;
  errorType: string | null;
  errorMessage: string | null;
}

/** `agent.run()` / `runs.result()`: the run ended `failed`. `run` is the stored row (camelCase). */
export class RunFailedError<R extends RunErrorDetails = RunErrorDetails> extends AgentPGError {
  readonly run: R;
  constructor(run: R) {
    super(
      'run_failed',
      `run ${run.id} failed (${run.errorType ?? 'unknown_error'}): ${run.errorMessage ?? 'no message'}`,
    );
    this.run = run;
  }
}

/** `agent.run()` / `runs.result()`: the run was cancelled. */
export class RunCancelledError<R extends RunErrorDetails = RunErrorDetails> extends AgentPGError {
  readonly run: R;
  constructor(run: R) {
    super('run_cancelled', `run ${run.id} was cancelled`);
    this.run = run;
  }
}

/** `runs.wait()` gave up after its `timeoutMs`; the run itself goes on. */
export class WaitTimeoutError extends AgentPGError {
  readonly runId: string;
  constructor(runId: string, timeoutMs: number) {
    super('wait_timeout', `run ${runId} did not finish within ${timeoutMs} ms`);
    this.runId = runId;
  }
}

/**
 * A long-running agent's owner tried to write with an epoch that is no longer current: another
 * acquisition (another instance, or this one again) fenced it off. The handler is aborted.
 */
export class StaleOwnerError extends AgentPGError {
  readonly agentId: string;
  readonly epoch: number;
  constructor(agentId: string, epoch: number) {
    super(
      'stale_owner',
      `long-running agent ${agentId}: epoch ${epoch} is no longer the owner's (fenced write rejected)`,
    );
    this.agentId = agentId;
    this.epoch = epoch;
  }
}

/** client.approvals.decide(): the tool call was decided already (by someone else, or timed out). */
export class AlreadyDecidedError extends AgentPGError {
  constructor(message: string) {
    super('already_decided', message);
  }
}

/**
 * An enqueue with multitask strategy `reject` (agent or enqueue option) while the session has a
 * run in flight (queued, running or awaiting input): nothing was written. HTTP 409.
 */
export class SessionBusyError extends AgentPGError {
  readonly sessionId: string;
  /** The oldest unfinished run of the session. */
  readonly runId: string;
  constructor(sessionId: string, runId: string) {
    super(
      'session_busy',
      `session ${sessionId} has a run in flight (${runId}); this agent rejects a second prompt meanwhile`,
    );
    this.sessionId = sessionId;
    this.runId = runId;
  }
}
