import {
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Context,
  type SpanContext,
} from '@opentelemetry/api';

/**
 * A run's trace context as stored in agentpg_runs.trace_parent: the W3C Trace Context
 * `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header), version 00:
 * `00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>`. Written here and parsed here,
 * with @opentelemetry/api only (its propagators live in the SDK, which agentpg does not depend on).
 */
const TRACE_PARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The traceparent of a span context, or null when it is not valid (no span, a no-op span). */
export function formatTraceParent(sc: SpanContext | undefined): string | null {
  if (!sc || !isSpanContextValid(sc)) return null;
  const flags = (sc.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${sc.traceId}-${sc.spanId}-${flags}`;
}

/**
 * The span context a traceparent names, or null when it is malformed. Per the W3C spec: version
 * ff is invalid, a higher version than 00 is read by its first four fields, all-zero ids are invalid.
 */
export function parseTraceParent(value: string | null | undefined): SpanContext | null {
  if (typeof value !== 'string' || value.length > 512) return null;
  const m = TRACE_PARENT.exec(value.trim());
  if (!m) return null;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  const sc: SpanContext = {
    traceId,
    spanId,
    traceFlags: parseInt(flags, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return isSpanContextValid(sc) ? sc : null;
}

/** The traceparent of the span active in the caller's context, or null. */
export function activeTraceParent(): string | null {
  return formatTraceParent(trace.getSpanContext(context.active()));
}

/** A context whose (remote) parent span is the stored traceparent; ROOT_CONTEXT when there is none. */
export function contextOfTraceParent(value: string | null | undefined): Context {
  const sc = parseTraceParent(value);
  return sc ? trace.setSpanContext(ROOT_CONTEXT, sc) : ROOT_CONTEXT;
}

/** A received `traceparent` header if it is well-formed, else undefined (a receiver ignores a bad one). */
export function requestTraceParent(header: string | undefined): string | undefined {
  return header !== undefined && parseTraceParent(header) !== null ? header.trim() : undefined;
}
