import { pino } from 'pino';

/** The subset of pino's logger agentpg calls; pass any pino logger (or compatible) in the config. */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/**
 * Structured JSON logs. Keys that may hold secrets are redacted wherever they appear, so an
 * API key or a connection password never reaches a log line.
 */
export function createLogger(options: { level?: string } = {}): Logger {
  return pino({
    level: options.level ?? process.env.LOG_LEVEL ?? 'warn',
    base: { lib: 'agentpg' },
    redact: {
      paths: [
        'apiKey',
        '*.apiKey',
        'password',
        '*.password',
        'databaseUrl',
        '*.databaseUrl',
        'connectionString',
        '*.connectionString',
        'headers.authorization',
        'headers["x-api-key"]',
      ],
      censor: '[redacted]',
    },
  });
}
