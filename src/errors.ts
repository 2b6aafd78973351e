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

/** Removes the password from anything that looks like a connection string. */
export function redactSecrets(text: string): string {
  return text
    .replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/gi, '$1***@')
    .replace(/(sk-ant-[a-z0-9]{0,6})[a-z0-9_-]+/gi, '$1***');
}
