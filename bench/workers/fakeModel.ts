/**
 * The fake Anthropic API as its own process for benchmarks and chaos (NOTES.md: the SDK call is
 * the largest CPU cost of a run, so the model must not share a core's event loop with agentpg).
 * Unlike src/testing/fakeAnthropicMain.ts it talks to the harness over IPC: it reports in-flight
 * requests (peak, sampled every 10 ms), and its latency and reply mode can change between phases.
 *
 * Env: FAKE_LATENCY_MS (default 0), FAKE_MODE = text (always `ok`) | tool (a prompt containing
 * "[tool]" gets one `record` tool_use first, then text once the tool_result is back). Whatever the
 * mode, a prompt containing "[wait]" gets one `approve_me` tool_use first (a tool that needs
 * approval: the run waits, bench/metrics/waits.ts), then text. A prompt containing "[long answer]"
 * gets a 300-character answer instead of `ok` (the soak's burst, sized like its loaded answers).
 */
import { startFakeAnthropic, type FakeReply, type FakeRequest } from '../../src/testing/index.js';
import { LONG_ANSWER_MARK, SOAK_ANSWER } from '../lib/soakText.js';

let latencyMs = Number(process.env.FAKE_LATENCY_MS ?? 0);
let mode = process.env.FAKE_MODE ?? 'text';
let peak = 0;
let toolUseSeq = 0;

function hasToolResult(req: FakeRequest): boolean {
  const last = req.body.messages?.[req.body.messages.length - 1];
  return (
    !!last && Array.isArray(last.content) && last.content.some((b) => (b as { type?: string }).type === 'tool_result')
  );
}

function firstUserText(req: FakeRequest): string {
  const first = req.body.messages?.[0];
  if (!first) return '';
  if (typeof first.content === 'string') return first.content;
  return first.content
    .map((b) => ((b as { type?: string }).type === 'text' ? (b as { text: string }).text : ''))
    .join('\n');
}

const fake = await startFakeAnthropic({
  record: false,
  responder: (req): FakeReply => {
    if (!hasToolResult(req) && firstUserText(req).includes('[wait]'))
      return {
        toolUses: [{ id: `toolu_wait_${process.pid}_${++toolUseSeq}`, name: 'approve_me', input: {} }],
        latencyMs,
      };
    if (mode === 'tool' && !hasToolResult(req) && firstUserText(req).includes('[tool]')) {
      // The tool_use id is unique per model call: a retried model call makes a new tool call.
      return {
        toolUses: [{ id: `toolu_bench_${process.pid}_${++toolUseSeq}`, name: 'record', input: { note: 'chaos' } }],
        latencyMs,
      };
    }
    if (firstUserText(req).includes(LONG_ANSWER_MARK)) return { text: SOAK_ANSWER, latencyMs };
    return { text: 'ok', latencyMs };
  },
});

const inFlight = () => fake.stats.received - fake.stats.completed - fake.stats.aborted - fake.stats.dropped;
setInterval(() => {
  const n = inFlight();
  if (n > peak) peak = n;
}, 10).unref();

process.on('message', (m: { type: string; reqId?: string; latencyMs?: number; mode?: string }) => {
  const reply = (body: Record<string, unknown>) => process.send?.({ ...body, reqId: m.reqId });
  switch (m.type) {
    case 'stats':
      reply({ type: 'stats', ...fake.stats, inFlight: inFlight(), peakInFlight: peak });
      break;
    case 'resetPeak':
      peak = 0;
      reply({ type: 'ok' });
      break;
    case 'configure':
      if (typeof m.latencyMs === 'number') latencyMs = m.latencyMs;
      if (typeof m.mode === 'string') mode = m.mode;
      reply({ type: 'ok' });
      break;
    default:
      reply({ type: 'error', message: `unknown command ${m.type}` });
  }
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => void fake.close().finally(() => process.exit(0)));
process.send?.({ type: 'ready', url: fake.url });
