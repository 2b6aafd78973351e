/**
 * The fake Anthropic Messages API as its own process (benchmarks run the model in a separate
 * process). Env: PORT (default 0 = any free port), FAKE_HOST (default 127.0.0.1), FAKE_LATENCY_MS
 * (default 0), FAKE_RECORD (number of requests to keep, default 0 = none).
 * Prints one line `{"url":"http://127.0.0.1:PORT"}` on stdout when ready; exits 0 on SIGTERM/SIGINT.
 */
import { startFakeAnthropic } from './fakeAnthropic.js';

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`fake Anthropic: ${name} must be a non-negative integer, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return n;
}

const fake = await startFakeAnthropic({
  port: intEnv('PORT', 0),
  host: process.env.FAKE_HOST || '127.0.0.1',
  latencyMs: intEnv('FAKE_LATENCY_MS', 0),
  record: intEnv('FAKE_RECORD', 0) || false,
});
process.stdout.write(JSON.stringify({ url: fake.url }) + '\n');

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await fake.close().catch(() => undefined);
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
