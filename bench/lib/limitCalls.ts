/**
 * The no-database limit of the throughput metric (bench/workers/limit.ts): the model calls of N
 * single-turn runs, made the way agentpg's executor makes them, with nothing else. Pure helpers
 * (tested in test/bench/limitCalls.test.ts): the request a run of a session sends, and the order
 * the calls are made in.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { AgentDefinition } from '../../src/model/agent.js';

/** The throughput metric's agent, as bench/workers/instance.ts registers it (and the limit calls as). */
export const BENCH_AGENT: AgentDefinition = { name: 'bench', model: 'claude-bench', maxTokens: 64 };

/**
 * The conversation run k of a session sends (k = `prior`): the k earlier exchanges of the session
 * (prompt, then the fake model's one-text-block answer), then this run's prompt. As agentpg stores
 * them: the prompt as one text block (src/runs/sql/fetchAndClaimRuns.ts), the answer as its content blocks
 * made request blocks (src/runs/transcript.ts toParamBlock). Cache breakpoints are added by the
 * caller with the executor's own withCacheBreakpoints.
 */
export function sessionTranscript(prompt: string, prior: number, answer = 'ok'): Anthropic.MessageParam[] {
  const messages: Anthropic.MessageParam[] = [];
  for (let k = 0; k < prior; k++) {
    messages.push({ role: 'user', content: [{ type: 'text', text: prompt }] });
    messages.push({ role: 'assistant', content: [{ type: 'text', text: answer }] });
  }
  messages.push({ role: 'user', content: [{ type: 'text', text: prompt }] });
  return messages;
}

export interface SessionCall {
  /** 0-based call number: call i belongs to session i % sessions, as the throughput metric enqueues. */
  index: number;
  session: number;
  /** Calls of this session finished before this one (its history length in exchanges). */
  prior: number;
}

export interface SessionCallsResult {
  /** Wall clock (ms) just before the first call. */
  startMs: number;
  /** Wall clock (ms) of each successful call's end, in completion order. */
  finishedMs: number[];
  failed: number;
  /** Most calls in flight at once. */
  peakInFlight: number;
}

/**
 * Makes `count` calls with at most `concurrency` in flight, in the order agentpg runs them under
 * key_strict_fifo: the calls of one session one after the other, in index order (a slot whose next
 * call's session is busy waits for it, as a run waits for its session's previous run), different
 * sessions in parallel. A failed call counts in `failed`, is not in the session's history, and
 * does not stop the rest.
 */
export async function callInSessionOrder(o: {
  count: number;
  sessions: number;
  concurrency: number;
  call: (c: SessionCall) => Promise<void>;
  now?: () => number;
}): Promise<SessionCallsResult> {
  const now = o.now ?? (() => performance.timeOrigin + performance.now());
  const sessions = Math.max(1, o.sessions);
  const tails: Promise<void>[] = Array.from({ length: sessions }, () => Promise.resolve());
  const done: number[] = new Array<number>(sessions).fill(0);
  const finishedMs: number[] = [];
  let failed = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  let next = 0;
  const startMs = now();
  await Promise.all(
    Array.from({ length: Math.max(0, Math.min(o.concurrency, o.count)) }, async () => {
      while (next < o.count) {
        const index = next++;
        const session = index % sessions;
        const previous = tails[session];
        let release!: () => void;
        tails[session] = new Promise<void>((r) => (release = r));
        await previous;
        inFlight++;
        peakInFlight = Math.max(peakInFlight, inFlight);
        try {
          await o.call({ index, session, prior: done[session] });
          done[session]++;
          finishedMs.push(now());
        } catch {
          failed++;
        } finally {
          inFlight--;
          release();
        }
      }
    }),
  );
  return { startMs, finishedMs, failed, peakInFlight };
}
