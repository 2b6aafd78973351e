/**
 * Crashes around a compaction (src/runs/compaction.ts), with the harness of crashPoints.test.ts: a
 * child process runs agent `crashpoints_compacting` on a session whose stored history is already
 * past the agent's compaction trigger, so the run compacts before its first model call, and dies:
 *   - during the summarizer call (killed from here as the fake receives it): before the summary is
 *     stored;
 *   - right after `compacted` committed: the summary stored, the run not gone on yet;
 *   - right after `tool_turn_stored`: the run went on from the compacted history.
 * A second client finishes the run. Each time: exactly one compaction (never lost, never two), every
 * seeded message still stored, every request after the compaction starts with the summary and is
 * valid for the API, and the run's tokens are its two model calls' (the summarizer's are the
 * compaction's).
 */
import { describe, expect, it } from 'vitest';
import { SUMMARIZER_SYSTEM, SUMMARY_HEADER } from '../../src/index.js';
import type { FakeRequest } from '../../src/testing/index.js';
import {
  FINAL_TEXT,
  SUMMARY_TEXT,
  SUMMARY_USAGE,
  TURN1_USAGE,
  TURN2_USAGE,
  crashPointModel,
} from '../fixtures/runs-crashpoints-defs.js';
import type { TestDatabase } from '../helpers/db.js';
import { until } from '../helpers/until.js';
import { assertValidForApi, runRow, CRASH_LINE, withCrashEnv, type CrashEnv } from './crashHarness.js';

const SEEDED = 20;
const isSummarizer = (r: FakeRequest) => r.body.system === SUMMARIZER_SYSTEM;

/** A session of SEEDED old text messages (~4,500 tokens: past the agent's 3,000-token trigger). */
async function seedSession(db: TestDatabase): Promise<{ sessionId: string; lastSeq: number }> {
  const [{ id }] = await db.query(
    `insert into agentpg_sessions (tenant_id, identifier, agent_name)
     values ('t', 'compaction-crash', 'crashpoints_compacting') returning id`,
  );
  const rows = await db.query(
    `insert into agentpg_messages (session_id, role, content)
     select $1, case when g % 2 = 1 then 'user' else 'assistant' end,
            jsonb_build_array(jsonb_build_object('type', 'text', 'text', 'old message ' || g || ' ' || repeat('words ', 150)))
       from generate_series(1, $2::int) g
     returning seq`,
    [id, SEEDED],
  );
  return { sessionId: id, lastSeq: Math.max(...rows.map((r) => Number(r.seq))) };
}

const compactionsOf = (db: TestDatabase, sessionId: string) =>
  db.query(
    `select number, through_seq::int, strategy, model, messages_archived, input_tokens, output_tokens, replacement
       from agentpg_compactions where session_id = $1 order by number`,
    [sessionId],
  );

interface Point {
  at: 'summarizing' | 'compacted' | 'tool_turn_stored';
  /** Summarizer calls in all (the one the crash cut short included). */
  summarizerCalls: number;
  /** The steps the second client goes through. */
  resumeSteps: string[];
}

const POINTS: Point[] = [
  {
    at: 'summarizing',
    summarizerCalls: 2,
    resumeSteps: [
      'claimed',
      'compacted',
      'tool_turn_stored',
      'tools_started',
      'tool_result_stored',
      'tool_result_stored',
      'finalized',
    ],
  },
  {
    at: 'compacted',
    summarizerCalls: 1,
    resumeSteps: [
      'claimed',
      'tool_turn_stored',
      'tools_started',
      'tool_result_stored',
      'tool_result_stored',
      'finalized',
    ],
  },
  {
    at: 'tool_turn_stored',
    summarizerCalls: 1,
    resumeSteps: ['claimed', 'tools_started', 'tool_result_stored', 'tool_result_stored', 'finalized'],
  },
];

async function crashAndResume({ db, fake, startChild, startSurvivor }: CrashEnv, point: Point): Promise<void> {
  const { sessionId, lastSeq } = await seedSession(db);
  const env = { AGENT: 'crashpoints_compacting', SESSION_ID: sessionId };
  let runId: string;
  if (point.at === 'summarizing') {
    // Killed while the fake holds its summarizer request: the summary was never stored.
    let killed = false;
    const child = startChild('child', 'never', env);
    fake.setResponder(async (req) => {
      if (!isSummarizer(req) || killed) return crashPointModel(req);
      killed = true;
      child.proc.kill('SIGKILL');
      await child.exited;
      return { drop: true };
    });
    expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
    fake.setResponder(crashPointModel);
    [{ id: runId }] = await db.query(`select id from agentpg_runs where session_id = $1`, [sessionId]);
    expect(await compactionsOf(db, sessionId)).toEqual([]);
  } else {
    const child = startChild('child', point.at, env);
    const [, step, id] = await child.line(CRASH_LINE);
    expect(step).toBe(point.at);
    expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
    runId = id;
    expect(await compactionsOf(db, sessionId)).toHaveLength(1);
  }
  expect(await runRow(db, runId)).toMatchObject({ state: 'running', attempts: 1 });

  const steps: string[] = [];
  const survivor = await startSurvivor({ onRunStep: (s) => void steps.push(s) });
  const run = await survivor.runs.wait(runId, { timeoutMs: 90_000 });
  await until(() => steps.includes('finalized'));

  expect(run).toMatchObject({
    state: 'completed',
    responseText: FINAL_TEXT,
    attempts: 2,
    inputTokens: TURN1_USAGE.input_tokens + TURN2_USAGE.input_tokens,
    outputTokens: TURN1_USAGE.output_tokens + TURN2_USAGE.output_tokens,
  });
  expect(steps).toEqual(point.resumeSteps);

  // Exactly one compaction: every seeded message archived (the prompt is the protected tail).
  const compactions = await compactionsOf(db, sessionId);
  expect(compactions).toHaveLength(1);
  expect(compactions[0]).toMatchObject({
    number: 1,
    through_seq: lastSeq,
    strategy: 'hybrid',
    model: 'claude-fake-model',
    messages_archived: SEEDED,
    input_tokens: SUMMARY_USAGE.input_tokens,
    output_tokens: SUMMARY_USAGE.output_tokens,
  });
  expect(compactions[0].replacement).toEqual([
    { role: 'user', content: [{ type: 'text', text: `${SUMMARY_HEADER}\n\n${SUMMARY_TEXT}` }] },
  ]);

  // The originals: all still stored, then the run's four messages.
  const stored = await db.query(`select role, content from agentpg_messages where session_id = $1 order by seq`, [
    sessionId,
  ]);
  expect(stored).toHaveLength(SEEDED + 4);
  expect(stored[0].content[0].text).toMatch(/^old message 1 /);
  assertValidForApi(stored);

  // The model: the summarizer as often as expected; both agent calls (one by the child, or both by
  // the survivor) start with the summary and never carry an archived message.
  expect(fake.requests.filter(isSummarizer)).toHaveLength(point.summarizerCalls);
  const calls = fake.requests.filter((r) => !isSummarizer(r));
  expect(calls).toHaveLength(2);
  for (const r of calls) {
    assertValidForApi(r.body.messages);
    expect((r.body.messages[0].content as any[])[0].text).toBe(`${SUMMARY_HEADER}\n\n${SUMMARY_TEXT}`);
    expect(JSON.stringify(r.body.messages)).not.toContain('old message');
  }
}

describe.concurrent('a crash around a compaction', () => {
  for (const point of POINTS) {
    it(
      `crash at ${point.at}: one compaction in the end, the originals kept, the run finished from the compacted history`,
      () => withCrashEnv((env) => crashAndResume(env, point)),
      240_000,
    );
  }
});
