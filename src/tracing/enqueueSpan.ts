import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ATTR, SPAN } from './attributes.js';
import { contextOfTraceParent, formatTraceParent } from './traceParent.js';
import { tracer } from './tracer.js';

/**
 * An enqueue as an `enqueue_run <agent>` span (kind PRODUCER), child of the caller's active span
 * or of `explicitParent` (EnqueueOptions.traceParent, the service's `traceparent` header). `fn`
 * gets the traceparent to store with the run: this span's, so the run's executions become its
 * children and the run joins the caller's trace. With no SDK registered the span is the API's
 * non-recording one, which carries the parent's context: the caller's traceparent is stored as is
 * (null when there is none, and then nothing at all is written).
 */
export async function traceEnqueue(
  agentName: string,
  sessionId: string,
  explicitParent: string | undefined,
  fn: (traceParent: string | null) => Promise<{ runId: string; existing: boolean }>,
): Promise<string> {
  const parent = explicitParent !== undefined ? contextOfTraceParent(explicitParent) : context.active();
  const attributes = { [ATTR.agentName]: agentName, [ATTR.sessionId]: sessionId };
  const span = tracer().startSpan(SPAN.enqueue(agentName), { kind: SpanKind.PRODUCER, attributes }, parent);
  const recording = span.isRecording();
  try {
    const { runId, existing } = await context.with(trace.setSpan(parent, span), () =>
      fn(formatTraceParent(span.spanContext())),
    );
    if (recording) span.setAttributes({ [ATTR.runId]: runId, [ATTR.enqueueExisting]: existing });
    return runId;
  } catch (err) {
    if (recording) {
      span.setAttribute(ATTR.errorType, err instanceof Error ? err.constructor.name : '_OTHER');
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    throw err;
  } finally {
    span.end();
  }
}
