/**
 * Agents as tools, crashes (src/runs/childRuns.ts): a child process runs `orchestrator`, which
 * calls the agent `helper` twice in one turn, and SIGKILLs itself right after a durable step
 * (test/fixtures/runs-childcrash-child.ts): `children_started` (the children are created, the
 * parent not suspended yet), `awaiting_input` (the parent suspended), or a child's `finalized`
 * (its answer delivered to the parent). A second client finishes everything: exactly one child per
 * tool call, no lost result, the parent completes with both answers.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CALL_A, CALL_B, childCrashAgents, childCrashModel, FINAL_TEXT } from '../fixtures/runs-childcrash-defs.js';
import type { TestDatabase } from '../helpers/db.js';
import { assertValidForApi, JOBS, jobOf, CRASH_LINE, withCrashEnv, type CrashSetup } from './crashHarness.js';

const SETUP: CrashSetup = {
  script: fileURLToPath(new URL('../fixtures/runs-childcrash-child.ts', import.meta.url)),
  model: childCrashModel,
  survivorDefinitions: () => ({ agents: childCrashAgents }),
  ddl: 'select 1',
};

async function rootOf(db: TestDatabase) {
  const [root] = await db.query(`select id, state, attempts from agentpg_runs where parent_run_id is null`);
  return root;
}

/** The parent's calls of `helper` and their children, by tool_use id. */
async function childrenByCall(db: TestDatabase, rootId: string) {
  return await db.query(
    `select t.tool_use_id, t.state as call_state, count(c.id)::int as children,
            min(c.state) as child_state
       from agentpg_tool_calls t left join agentpg_runs c on c.parent_tool_call_id = t.id
      where t.run_id = $1 group by t.tool_use_id, t.state order by t.tool_use_id`,
    [rootId],
  );
}

describe.concurrent('agents as tools: a crash around a child run', () => {
  for (const at of ['children_started', 'awaiting_input', 'child_finalized']) {
    it(
      `crash at ${at}: exactly one child per tool call, and the parent completes with both answers`,
      () =>
        withCrashEnv(async ({ db, startChild, startSurvivor }) => {
          const child = startChild('child', at);
          const [, step] = await child.line(CRASH_LINE);
          expect(step, `the child reached ${at}`).toBe(at);
          expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
          const root = await rootOf(db);
          const atCrash = await childrenByCall(db, root.id);
          // Both children exist from the children_started commit on, one per call.
          expect(atCrash.map((c) => [c.tool_use_id, c.children])).toEqual([
            [CALL_A, 1],
            [CALL_B, 1],
          ]);
          if (at === 'children_started') {
            // Created, not waited for yet: the parent is still `running` on the dead instance.
            expect(root.state).toBe('running');
            expect(atCrash.map((c) => c.call_state)).toEqual(['running', 'running']);
          }
          if (at === 'awaiting_input') {
            expect(root.state).toBe('awaiting_input');
            expect(await jobOf(db, root.id)).toBe('retry'); // set aside: holds no worker
          }
          if (at === 'child_finalized') {
            // The child's answer is in its parent's call, in the child's own final transaction.
            expect(atCrash.some((c) => c.call_state === 'succeeded' && c.child_state === 'completed')).toBe(true);
          }

          const t0 = Date.now();
          const survivor = await startSurvivor();
          const t1 = Date.now();
          const run = await survivor.runs.wait(root.id, { timeoutMs: 90_000 });
          // Timing is not asserted (shared machine); logged for the record.
          console.log(`[child crash] ${at}: survivor start ${t1 - t0} ms, resume ${Date.now() - t1} ms`);
          expect(run).toMatchObject({ state: 'completed', responseText: FINAL_TEXT, toolIterations: 1 });
          expect(await childrenByCall(db, root.id)).toEqual([
            { tool_use_id: CALL_A, call_state: 'succeeded', children: 1, child_state: 'completed' },
            { tool_use_id: CALL_B, call_state: 'succeeded', children: 1, child_state: 'completed' },
          ]);
          expect(await db.query(`select id from agentpg_runs`)).toHaveLength(3);
          for (const r of await db.query(`select id, session_id from agentpg_runs`)) {
            const stored = await db.query(`select role, content from agentpg_messages where run_id = $1 order by seq`, [
              r.id,
            ]);
            assertValidForApi(stored);
          }
          expect(await db.query(`select id from ${JOBS} where name = 'agentpg_runs'`)).toEqual([]);
        }, SETUP),
      240_000,
    );
  }
});
