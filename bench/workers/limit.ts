/**
 * The throughput metric's no-database limit: the model calls of the agentpg side's runs and
 * nothing else, in a process of the same kind (bundled, plain node, driven over IPC). What is the
 * same as in agentpg's instance: the Anthropic client (src/runs/modelCall.ts createAnthropicClient,
 * from the same config), the request (the agent's params, the session's conversation so far, the
 * executor's cache breakpoints: src/runs/promptCache.ts), the call itself (callModel: streamed,
 * text deltas made storable as the executor does), runConcurrency calls in flight, the same
 * sessions, one session's calls one after the other (bench/lib/limitCalls.ts). What is not there:
 * the database (no enqueue, no claim, no message or run written), pg-boss, the event stream.
 *
 * Env BENCH_LIMIT (JSON): { modelUrl }.
 */
import type { AgentPGConfig } from '../../src/config.js';
import { callModel, createAnthropicClient } from '../../src/runs/modelCall.js';
import { cacheSettingsOf, withCacheBreakpoints } from '../../src/runs/promptCache.js';
import { storableText } from '../../src/runs/storable.js';
import { BENCH_AGENT, callInSessionOrder, sessionTranscript } from '../lib/limitCalls.js';

const cfg = JSON.parse(process.env.BENCH_LIMIT ?? '{}') as { modelUrl: string };
const send = (m: Record<string, unknown>) => {
  if (process.connected) process.send?.(m);
};

// The instance's config for the client (bench/workers/instance.ts): same key, base URL, defaults.
const anthropic = createAnthropicClient({ anthropic: { baseURL: cfg.modelUrl, apiKey: 'bench' } } as AgentPGConfig);
const agent = BENCH_AGENT;
const cache = cacheSettingsOf(agent);

async function callMany(m: { count: number; sessions: number; concurrency: number; prompt: string }) {
  const signal = new AbortController().signal;
  let lastError = '';
  let textChars = 0;
  const result = await callInSessionOrder({
    count: m.count,
    sessions: m.sessions,
    concurrency: m.concurrency,
    call: async ({ prior }) => {
      const params = withCacheBreakpoints(
        { model: agent.model, max_tokens: agent.maxTokens ?? 4096, messages: sessionTranscript(m.prompt, prior) },
        cache,
      );
      try {
        await callModel(anthropic, params, { signal, onText: (d) => (textChars += storableText(d).length) });
      } catch (err) {
        lastError = String((err as Error).message).slice(0, 200);
        throw err;
      }
    },
  });
  return { ...result, lastError, textChars };
}

process.on('message', async (m: { type: string; reqId?: string; [k: string]: unknown }) => {
  const reply = (body: Record<string, unknown>) => send({ ...body, reqId: m.reqId });
  try {
    if (m.type === 'callMany') reply({ type: 'called', ...(await callMany(m as never)) });
    else if (m.type === 'stop') {
      reply({ type: 'ok' });
      process.exit(0);
    } else reply({ type: 'error', message: `unknown command ${m.type}` });
  } catch (err) {
    reply({ type: 'error', message: (err as Error).message });
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', pid: process.pid });
