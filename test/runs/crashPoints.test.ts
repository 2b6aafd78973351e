/**
 * The crash-point matrix: a run killed right after EACH of its durable steps (src/runs/steps.ts)
 * is finished by another client, correctly. For every point a child process
 * (test/fixtures/runs-crashpoints-child.ts) runs a two-turn tool run and SIGKILLs itself inside
 * config.onRunStep at that step; this process checks what was durable at the kill, then starts a
 * second client whose cleanup hands the dead instance's run back, and checks the finished run:
 * transcript valid for the API, each tool executed the expected number of times (a stored result
 * never re-executed; an in-flight call at most twice, with the same idempotency key), tokens
 * counted once per stored assistant message, exactly one final assistant message, two model calls
 * in all, and the pg-boss job completed. Plus: a crash inside the enqueue transaction leaves nothing.
 *
 * A crash anywhere between two durable steps leaves the database as it was right after the
 * earlier one, so these points cover every crash; the only effects in between (the model call, a
 * tool's execution) are covered by the in-flight `email` call at `tool_result_stored:charge`.
 */
import { describe, expect, it } from 'vitest';
import type { AgentPGConfig, RunStepInfo, RunStepName } from '../../src/index.js';
import type { FakeAnthropic } from '../../src/testing/index.js';
import { RUN_STEP_NAMES } from '../../src/index.js';
import { CHARGE_ID, EMAIL_ID, FINAL_TEXT, TURN1_USAGE, TURN2_USAGE } from '../fixtures/runs-crashpoints-defs.js';
import type { TestDatabase } from '../helpers/db.js';
import {
  JOBS,
  assertValidForApi,
  calls,
  crashChild,
  effects,
  jobOf,
  roles,
  runRow,
  withCrashEnv,
  type CrashEnv,
} from './crashHarness.js';
import { DEFER_FIRST, DEFER_SECOND } from './crashPointsDeferral.js'; // [ratelimit]
import { untilValue } from '../helpers/until.js';

type Effect = [tool: 'charge' | 'email', attempt: number, by: 'child' | 'survivor'];

interface CrashPoint {
  /** The step (and tool_use id) at which the child kills itself. */
  at: string;
  /** Test title, when `at` alone does not say it. */
  title?: string;
  /** Acts inside the second client's onRunStep (awaited), e.g. to play a late write of the dead one. */
  duringResume?(db: TestDatabase, step: RunStepName, info: RunStepInfo): Promise<void>;
  /**
   * What must be durable at the kill: proves the hook runs after the step's commit. May say the
   * run's final attempts when the state at the kill decides them.
   */
  atCrash(db: TestDatabase, runId: string, fake: FakeAnthropic): Promise<void | { runAttempts: number }>;
  /** The child's extra environment (test/fixtures/runs-crashpoints-child.ts). */
  childEnv?: Record<string, string>;
  /** The second client's config on top of the harness's. */
  survivorConfig?(fake: FakeAnthropic): Partial<AgentPGConfig>;
  /** tool_iterations at the second client's claim, when the step's rank does not say it. */
  claimIteration?: number;
  /** More checks once the run is finished. */
  afterResume?(db: TestDatabase, runId: string, fake: FakeAnthropic): Promise<void>;
  /** The steps the second client goes through to finish the run. */
  resumeSteps: string[];
  /** Every execution of a tool, in the end. */
  effects: Effect[];
  /** agentpg_runs.attempts in the end. */
  runAttempts: number;
  /** agentpg_tool_calls.attempts in the end. */
  callAttempts: { charge: number; email: number };
}

const FULL_RESUME = [
  'claimed',
  'tool_turn_stored',
  'tools_started',
  `tool_result_stored:${CHARGE_ID}`,
  `tool_result_stored:${EMAIL_ID}`,
  'finalized',
];
const BY_SURVIVOR: Effect[] = [
  ['charge', 1, 'survivor'],
  ['email', 1, 'survivor'],
];
const BY_CHILD: Effect[] = [
  ['charge', 1, 'child'],
  ['email', 1, 'child'],
];

/** At the kill: the run running in its first attempt, after `iterations` tool turns (and their tokens). */
async function runningAfter(db: TestDatabase, runId: string, iterations: 0 | 1): Promise<void> {
  expect(await runRow(db, runId)).toMatchObject({
    state: 'running',
    attempts: 1,
    tool_iterations: iterations,
    input_tokens: iterations ? TURN1_USAGE.input_tokens : 0,
    output_tokens: iterations ? TURN1_USAGE.output_tokens : 0,
  });
}

/** At the kill: both tool calls stored in `state` after `attempts` executions. */
async function bothCalls(db: TestDatabase, runId: string, state: string, attempts: number): Promise<void> {
  expect(await calls(db, runId)).toEqual([
    { tool_use_id: CHARGE_ID, state, attempts },
    { tool_use_id: EMAIL_ID, state, attempts },
  ]);
}

async function toolsStartedAtCrash(db: TestDatabase, runId: string): Promise<void> {
  await bothCalls(db, runId, 'running', 1);
  expect(await effects(db)).toEqual([]);
}

const POINTS: CrashPoint[] = [
  {
    at: 'enqueued',
    async atCrash(db, runId) {
      // The child's worker may have heard the run's NOTIFY while onRunStep ran and sent its
      // fetch-and-claim statement before the kill: a statement the server has received commits on
      // its own. The run is then the dead instance's, claimed once, and the survivor takes it over.
      if ((await runRow(db, runId)).state === 'running') {
        expect(await runRow(db, runId)).toMatchObject({ attempts: 1 });
        expect(await jobOf(db, runId)).toBe('active');
        expect(await roles(db, runId)).toEqual(['user']);
        return { runAttempts: 2 };
      }
      expect(await runRow(db, runId)).toMatchObject({ state: 'queued', attempts: 0 });
      expect(await jobOf(db, runId)).toBe('created');
      expect(await roles(db, runId)).toEqual([]);
    },
    resumeSteps: FULL_RESUME,
    effects: BY_SURVIVOR,
    runAttempts: 1,
    callAttempts: { charge: 1, email: 1 },
  },
  {
    at: 'claimed',
    async atCrash(db, runId) {
      expect(await runRow(db, runId)).toMatchObject({ state: 'running', attempts: 1 });
      expect(await jobOf(db, runId)).toBe('active');
      expect(await roles(db, runId)).toEqual(['user']);
    },
    resumeSteps: FULL_RESUME,
    effects: BY_SURVIVOR,
    runAttempts: 2,
    callAttempts: { charge: 1, email: 1 },
  },
  {
    at: 'tool_turn_stored',
    async atCrash(db, runId) {
      await runningAfter(db, runId, 1);
      expect(await roles(db, runId)).toEqual(['user', 'assistant']);
      await bothCalls(db, runId, 'pending', 0);
    },
    resumeSteps: FULL_RESUME.filter((s) => s !== 'tool_turn_stored'),
    effects: BY_SURVIVOR,
    runAttempts: 2,
    callAttempts: { charge: 1, email: 1 },
  },
  {
    at: 'tools_started',
    atCrash: toolsStartedAtCrash,
    // Both calls were marked running but never executed: each runs once, as attempt 2.
    resumeSteps: FULL_RESUME.filter((s) => s !== 'tool_turn_stored'),
    effects: [
      ['charge', 2, 'survivor'],
      ['email', 2, 'survivor'],
    ],
    runAttempts: 2,
    callAttempts: { charge: 2, email: 2 },
  },
  {
    at: 'tools_started',
    title: 'crash at tools_started, then the old execution stores a result after the resume claimed the run',
    atCrash: toolsStartedAtCrash,
    // The "dead" execution was only slow (its job heartbeat lapsed): it stores charge's result
    // right after the second client's claim read the calls as running. The second client must
    // take that result, not execute charge again.
    async duringResume(db, step) {
      if (step !== 'claimed') return;
      await db.query(
        `update agentpg_tool_calls set state = 'succeeded', output = 'charged 42', finished_at = now()
          where tool_use_id = $1 and state = 'running' and attempts = 1`,
        [CHARGE_ID],
      );
    },
    resumeSteps: ['claimed', 'tools_started', `tool_result_stored:${EMAIL_ID}`, 'finalized'],
    effects: [['email', 2, 'survivor']],
    runAttempts: 2,
    callAttempts: { charge: 1, email: 2 },
  },
  {
    at: `tool_result_stored:${CHARGE_ID}`,
    async atCrash(db, runId) {
      expect(await calls(db, runId)).toEqual([
        { tool_use_id: CHARGE_ID, state: 'succeeded', attempts: 1 },
        { tool_use_id: EMAIL_ID, state: 'running', attempts: 1 },
      ]);
      // email's side effect happened; it was still in flight (no result stored) at the kill.
      expect((await effects(db)).map((e) => e[0])).toEqual(['charge', 'email']);
    },
    resumeSteps: ['claimed', 'tools_started', `tool_result_stored:${EMAIL_ID}`, 'finalized'],
    // charge's stored result is reused; the in-flight email runs again, same key, attempt 2.
    effects: [...BY_CHILD, ['email', 2, 'survivor']],
    runAttempts: 2,
    callAttempts: { charge: 1, email: 2 },
  },
  {
    at: `tool_result_stored:${EMAIL_ID}`,
    async atCrash(db, runId) {
      await bothCalls(db, runId, 'succeeded', 1);
      // The tool_result message has no commit of its own: it comes with the next step.
      expect(await roles(db, runId)).toEqual(['user', 'assistant']);
    },
    resumeSteps: ['claimed', 'finalized'],
    effects: BY_CHILD,
    runAttempts: 2,
    callAttempts: { charge: 1, email: 1 },
  },
  {
    at: 'rate_limit_deferred',
    title:
      'crash at rate_limit_deferred before the first model call: another client makes the call once, after the block',
    ...DEFER_FIRST,
    async atCrash(db, runId, fake) {
      await runningAfter(db, runId, 0);
      expect(await roles(db, runId)).toEqual(['user']);
      await DEFER_FIRST.deferredAtCrash(db, runId, fake);
    },
    resumeSteps: FULL_RESUME,
    claimIteration: 0,
    effects: BY_SURVIVOR,
    runAttempts: 2,
    callAttempts: { charge: 1, email: 1 },
  },
  {
    at: 'rate_limit_deferred',
    title:
      'crash at rate_limit_deferred after the tool results: another client makes the deferred call once, tokens counted once',
    ...DEFER_SECOND,
    async atCrash(db, runId, fake) {
      await runningAfter(db, runId, 1);
      await bothCalls(db, runId, 'succeeded', 1);
      expect(await roles(db, runId)).toEqual(['user', 'assistant']);
      await DEFER_SECOND.deferredAtCrash(db, runId, fake);
    },
    resumeSteps: ['claimed', 'finalized'],
    effects: BY_CHILD,
    runAttempts: 2,
    callAttempts: { charge: 1, email: 1 },
  },
  {
    at: 'finalized',
    async atCrash(db, runId) {
      expect(await runRow(db, runId)).toMatchObject({ state: 'completed', attempts: 1 });
      expect(await jobOf(db, runId)).toBeUndefined(); // deleted with the run's final transaction
    },
    resumeSteps: [],
    effects: BY_CHILD,
    runAttempts: 1,
    callAttempts: { charge: 1, email: 1 },
  },
];

async function crashAndResume(env: CrashEnv, point: CrashPoint): Promise<void> {
  const { db, fake, startSurvivor } = env;
  const t0 = Date.now();
  const { step, runId, exit } = await crashChild(env, point.at, point.childEnv);
  expect(step, `the child reached ${point.at}`).toBe(point.at);
  expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
  const runAttempts = (await point.atCrash(db, runId, fake))?.runAttempts ?? point.runAttempts;
  const t1 = Date.now();

  const steps: Array<{ step: RunStepName } & RunStepInfo> = [];
  const survivor = await startSurvivor({
    ...point.survivorConfig?.(fake),
    onRunStep: async (s, info) => {
      steps.push({ step: s, ...info });
      await point.duringResume?.(db, s, info);
    },
  });
  const t2 = Date.now();
  const run = await survivor.runs.wait(runId, { timeoutMs: 90_000 });
  // Timing is not asserted (shared machine); logged for the record.
  console.log(
    `[crash points] ${point.title ?? point.at}: child ${t1 - t0} ms, survivor start ${t2 - t1} ms, resume ${Date.now() - t2} ms`,
  );
  await untilValue(
    async () => (await survivor.health()).inFlightRuns,
    (n) => n === 0,
  );

  // The run: completed once, tokens = exactly the two stored assistant messages' usage.
  expect(run).toMatchObject({
    state: 'completed',
    responseText: FINAL_TEXT,
    toolIterations: 1,
    attempts: runAttempts,
    inputTokens: TURN1_USAGE.input_tokens + TURN2_USAGE.input_tokens,
    outputTokens: TURN1_USAGE.output_tokens + TURN2_USAGE.output_tokens,
    errorType: null,
  });
  const stored = await db.query(
    `select role, content, input_tokens, output_tokens from agentpg_messages where run_id = $1 order by seq`,
    [runId],
  );
  expect(stored.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
  assertValidForApi(stored);
  expect(stored[1].content.filter((b: any) => b.type === 'tool_use').map((b: any) => b.id)).toEqual([
    CHARGE_ID,
    EMAIL_ID,
  ]);
  expect(stored[2].content).toEqual([
    { type: 'tool_result', tool_use_id: CHARGE_ID, content: 'charged 42' },
    { type: 'tool_result', tool_use_id: EMAIL_ID, content: 'sent to a@example.com' },
  ]);
  expect(stored[3].content.map((b: any) => [b.type, b.text])).toEqual([['text', FINAL_TEXT]]);
  expect(stored.map((m) => [m.input_tokens, m.output_tokens])).toEqual([
    [0, 0],
    [TURN1_USAGE.input_tokens, TURN1_USAGE.output_tokens],
    [0, 0],
    [TURN2_USAGE.input_tokens, TURN2_USAGE.output_tokens],
  ]);

  // Tools: executions as expected, always with the call's own tool_use id as the key.
  expect(await calls(db, runId)).toEqual([
    { tool_use_id: CHARGE_ID, state: 'succeeded', attempts: point.callAttempts.charge },
    { tool_use_id: EMAIL_ID, state: 'succeeded', attempts: point.callAttempts.email },
  ]);
  const keyOf = { charge: CHARGE_ID, email: EMAIL_ID };
  expect(await effects(db)).toEqual(point.effects.map(([tool, attempt, by]) => [tool, attempt, by, keyOf[tool]]));

  // The model: two calls in all (no crash point lies between a call and its storage), each with a
  // transcript the API accepts.
  expect(fake.requests).toHaveLength(2);
  for (const r of fake.requests) assertValidForApi(r.body.messages);

  // pg-boss: the run's job went with its final transaction; nothing of the queue is left (no job
  // active, retrying or failed).
  expect(await jobOf(db, runId)).toBeUndefined();
  expect(await db.query(`select state::text as state from ${JOBS} where name = 'agentpg_runs'`)).toEqual([]);

  // The second client resumed from the step after the crash, not earlier (tool results of the
  // same turn are stored concurrently: compared as a set).
  const seen = steps.map((x) => (x.toolUseId ? `${x.step}:${x.toolUseId}` : x.step));
  const canon = (list: string[]) => [...list].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  expect(seen.map(rank)).toEqual([...seen.map(rank)].sort((a, b) => a - b));
  expect(canon(seen)).toEqual(canon(point.resumeSteps));
  // iteration: the run's tool_iterations, 1 once the tool turn is stored (before the crash or after).
  const claimIteration = point.claimIteration ?? (rank(point.at) >= rank('tool_turn_stored') ? 1 : 0);
  for (const x of steps) {
    expect(x).toMatchObject({
      runId,
      attempt: runAttempts,
      iteration: x.step === 'claimed' ? claimIteration : 1,
    });
  }
  if (point.resumeSteps.includes('finalized'))
    expect(steps.at(-1)).toMatchObject({ step: 'finalized', state: 'completed' });
  await point.afterResume?.(db, runId, fake);
}

function rank(step: string): number {
  return RUN_STEP_NAMES.indexOf(step.split(':')[0] as RunStepName);
}

describe.concurrent('a crash right after each durable step of a run', () => {
  it('covers every step name', () => {
    const covered = new Set(POINTS.map((p) => p.at.split(':')[0]));
    // `awaiting_input` happens only in a run whose tool needs approval (not this matrix's run); the
    // execution ends at its commit. Crashes at it and just before it are the 'needs approval' tests
    // of test/runs/crashPointsWaits.test.ts.
    // `compacted` happens only in a session past its agent's compaction trigger: the crashes around it
    // are test/runs/compactionCrash.test.ts. `children_started` happens only in a run that calls
    // agents: test/runs/childRunCrash.test.ts. `input_requested` only in a run whose tool asks the
    // user: the 'asks the user' test of test/runs/crashPointsWaits.test.ts. `batch_requested` only in a batch-mode run:
    // test/batch/batchCrash.test.ts.
    const steps = RUN_STEP_NAMES.filter(
      (s) => !['awaiting_input', 'compacted', 'children_started', 'input_requested', 'batch_requested'].includes(s),
    );
    expect([...covered].sort()).toEqual([...steps].sort());
  });

  for (const point of POINTS) {
    const title = point.title ?? `crash at ${point.at}: another client finishes the run correctly`;
    it(title, () => withCrashEnv((env) => crashAndResume(env, point)), 240_000);
  }
});
