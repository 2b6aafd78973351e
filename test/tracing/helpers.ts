/**
 * The OpenTelemetry SDK as an application registers it, for the trace tests: a BasicTracerProvider
 * with the AsyncLocalStorage context manager, and either the SDK's InMemorySpanExporter (this
 * process) or FileSpanProcessor (a child process that may be SIGKILLed: it writes each span as it
 * starts and as it ends, synchronously, so what happened before the kill is on disk).
 */
import fs from 'node:fs';
import { context, trace, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Span,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** Registers the SDK globally with `processor`; returns the function that unregisters it. */
export function registerSdk(processor: SpanProcessor): () => Promise<void> {
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  return async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
  };
}

/** Registers the SDK with an in-memory exporter (each span exported when it ends). */
export function registerInMemorySdk(): { exporter: InMemorySpanExporter; unregister: () => Promise<void> } {
  const exporter = new InMemorySpanExporter();
  return { exporter, unregister: registerSdk(new SimpleSpanProcessor(exporter)) };
}

/** A span as the tests compare them: ids, parent, name, attributes. */
export interface SpanRecord {
  event: 'start' | 'end';
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  attributes: Record<string, unknown>;
  status: number;
}

export function recordOf(span: ReadableSpan, event: 'start' | 'end' = 'end'): SpanRecord {
  const sc = span.spanContext();
  return {
    event,
    name: span.name,
    traceId: sc.traceId,
    spanId: sc.spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? null,
    attributes: { ...span.attributes },
    status: span.status.code,
  };
}

/** Appends one JSON line per span start and end to `file`, synchronously (survives a SIGKILL after it). */
export class FileSpanProcessor implements SpanProcessor {
  constructor(private readonly file: string) {}
  onStart(span: Span, _parent: Context): void {
    fs.appendFileSync(this.file, JSON.stringify(recordOf(span, 'start')) + '\n');
  }
  onEnd(span: ReadableSpan): void {
    fs.appendFileSync(this.file, JSON.stringify(recordOf(span, 'end')) + '\n');
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

export function readSpanFile(file: string): SpanRecord[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SpanRecord);
}

/** The W3C traceparent's trace id and parent span id. */
export function traceParentIds(traceParent: string): { traceId: string; spanId: string } {
  const [, traceId, spanId] = traceParent.split('-');
  return { traceId, spanId };
}
