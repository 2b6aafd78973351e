import { trace, type Tracer } from '@opentelemetry/api';

/** The instrumentation scope name of every agentpg span. */
export const TRACER_NAME = 'agentpg';

/**
 * agentpg's tracer, looked up from the global API on each use (a lookup, no allocation worth
 * counting): with no SDK registered it is the API's no-op tracer, whose spans record nothing and
 * cost nothing; an SDK registered later (or replaced, as tests do) is picked up at the next span.
 */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}
