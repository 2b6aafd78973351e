/**
 * Harness of test/runs/crashPoints.test.ts and crashPointsWaits.test.ts: one database, fake model, crashing child process and
 * second client per crash point, plus the checks shared by the points.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { expect } from 'vitest';
import { PGBOSS_SCHEMA } from '../../src/db/migrate.js';
import type { AgentPG, AgentPGConfig } from '../../src/index.js';
import { createLogger } from '../../src/logger.js';
import { startFakeAnthropic, type FakeAnthropic, type FakeResponder } from '../../src/testing/index.js';
import {
  SIDE_EFFECTS_DDL,
  crashPointAgents,
  crashPointModel,
  crashPointTools,
} from '../fixtures/runs-crashpoints-defs.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { untilValue } from '../helpers/until.js';
import { assertValidTranscript, startClient } from './helpers.js';

/**
 * What a crash environment runs: the child's script, the fake model, the survivor's agents and
 * tools, and the side-effect table. Default: the crash-point matrix (runs-crashpoints-*.ts).
 */
export interface CrashSetup {
  script: string;
  model: FakeResponder;
  survivorDefinitions(toolPool: pg.Pool): Pick<AgentPGConfig, 'agents' | 'tools'>;
  ddl: string;
}

export const CRASH_POINTS_SETUP: CrashSetup = {
  script: fileURLToPath(new URL('../fixtures/runs-crashpoints-child.ts', import.meta.url)),
  model: crashPointModel,
  survivorDefinitions: (toolPool) => ({ agents: crashPointAgents, tools: crashPointTools(toolPool, 'survivor') }),
  ddl: SIDE_EFFECTS_DDL,
};
export const JOBS = `${PGBOSS_SCHEMA}.job`;
/** The child's last word: `CRASH <step> <runId>` just before its kill, or `NO_CRASH <runId>`. */
export const CRASH_LINE = /^(?:CRASH (\S+)|NO_CRASH) (\S+)$/;

export interface Child {
  proc: ChildProcess;
  lines: string[];
  /** Resolves with the first stdout line matching `re`; rejects if the child exits first. */
  line(re: RegExp): Promise<RegExpExecArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(
  childScript: string,
  db: TestDatabase,
  fake: FakeAnthropic,
  instanceId: string,
  crashAt: string,
  env: Record<string, string> = {},
): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', childScript], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      FAKE_URL: fake.url,
      INSTANCE_ID: instanceId,
      CRASH_AT: crashAt,
      ...env,
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (m: RegExpExecArray) => void; reject: (e: Error) => void }> = [];
  createInterface({ input: proc.stdout }).on('line', (l) => {
    lines.push(l);
    for (const w of [...waiters]) {
      const m = w.re.exec(l);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const exited = once(proc, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  void exited.then(() => {
    for (const w of waiters.splice(0))
      w.reject(new Error(`child exited before printing ${w.re}; stdout:\n${lines.join('\n')}`));
  });
  return {
    proc,
    lines,
    exited,
    line: (re) =>
      new Promise((resolve, reject) => {
        const hit = lines.map((l) => re.exec(l)).find(Boolean);
        if (hit) return resolve(hit);
        if (proc.exitCode !== null || proc.signalCode !== null)
          return reject(new Error(`child already exited; stdout:\n${lines.join('\n')}`));
        waiters.push({ re, resolve, reject });
      }),
  };
}

/** A transcript the Messages API accepts: starts with user, roles alternate, every tool_use answered next. */
export function assertValidForApi(messages: Array<{ role: string; content: any }>): void {
  expect(messages[0]?.role).toBe('user');
  for (let i = 1; i < messages.length; i++)
    expect(messages[i].role, `roles alternate at ${i}`).not.toBe(messages[i - 1].role);
  const blocks = (m: { content: any }) => (Array.isArray(m.content) ? m.content : []);
  assertValidTranscript(messages.map((m) => ({ role: m.role, content: blocks(m) })));
  // ...and every tool_result answers a tool_use of the message right before it.
  for (let i = 0; i < messages.length; i++) {
    const results = blocks(messages[i]).filter((b: any) => b.type === 'tool_result');
    if (results.length === 0) continue;
    const uses = new Set(
      i > 0
        ? blocks(messages[i - 1])
            .filter((b: any) => b.type === 'tool_use')
            .map((b: any) => b.id)
        : [],
    );
    for (const r of results)
      expect(uses.has(r.tool_use_id), `tool_result ${r.tool_use_id} at ${i} answers the previous message`).toBe(true);
  }
}

/** Environments run in parallel, at most three at once (each boots a child process; 2 cores). */
const slots = (() => {
  let free = 3;
  const queue: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (free === 0) await new Promise<void>((r) => queue.push(r));
    else free--;
    try {
      return await fn();
    } finally {
      const next = queue.shift();
      if (next) next();
      else free++;
    }
  };
})();

export interface CrashEnv {
  db: TestDatabase;
  fake: FakeAnthropic;
  /** Starts the child that crashes at `crashAt` (see test/fixtures/runs-crashpoints-child.ts). */
  /** `env`: extra environment, e.g. CHARGE_NEEDS_APPROVAL=1 (the charge tool then needs approval). */
  startChild(instanceId: string, crashAt: string, env?: Record<string, string>): Child;
  /**
   * The second client. Its cleanup (short TTL and interval) finds the child's instance silent,
   * deletes it and hands its runs' jobs back; its worker then resumes them.
   */
  startSurvivor(config?: Partial<AgentPGConfig>): Promise<AgentPG>;
}

/**
 * Runs `fn` with a fresh environment, torn down whatever happens. Environments run in parallel,
 * at most three at once (each boots a child process; the machine has 2 cores).
 */
export function withCrashEnv(
  fn: (env: CrashEnv) => Promise<void>,
  setup: CrashSetup = CRASH_POINTS_SETUP,
): Promise<void> {
  return slots(async () => {
    const db = await createTestDatabase();
    const fake = await startFakeAnthropic({ responder: setup.model });
    const toolPool = new pg.Pool({ connectionString: db.url, max: 2 });
    toolPool.on('error', () => {}); // see steps.test.ts: end() resolves before the sockets close
    const children: Child[] = [];
    const clients: AgentPG[] = [];
    try {
      await db.query(setup.ddl);
      await fn({
        db,
        fake,
        startChild: (instanceId, crashAt, env) => {
          const child = startChild(setup.script, db, fake, instanceId, crashAt, env);
          children.push(child);
          return child;
        },
        startSurvivor: async (config = {}) => {
          const client = await startClient(db, fake, {
            instanceId: 'survivor',
            ...setup.survivorDefinitions(toolPool),
            heartbeatIntervalMs: 300,
            instanceTtlMs: 1500,
            cleanupIntervalMs: 1000,
            logger: createLogger({ level: 'error' }),
            ...config,
          });
          clients.push(client);
          return client;
        },
      });
    } finally {
      for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
      for (const c of clients) await c.stop().catch(() => {});
      await toolPool.end().catch(() => {});
      await fake.close().catch(() => {});
      await db.drop().catch(() => {});
    }
  });
}

export const runRow = async (db: TestDatabase, runId: string) =>
  (
    await db.query(
      `select state, attempts, tool_iterations, input_tokens, output_tokens from agentpg_runs where id = $1`,
      [runId],
    )
  )[0];
export const roles = async (db: TestDatabase, runId: string) =>
  (await db.query(`select role from agentpg_messages where run_id = $1 order by seq`, [runId])).map((m) => m.role);
export const calls = async (db: TestDatabase, runId: string) =>
  await db.query(`select tool_use_id, state, attempts from agentpg_tool_calls where run_id = $1 order by tool_use_id`, [
    runId,
  ]);
export const effects = async (db: TestDatabase) =>
  (
    await db.query(
      `select tool, idempotency_key, attempt, instance from crashpoint_side_effects order by tool, attempt`,
    )
  ).map((e) => [e.tool, e.attempt, e.instance, e.idempotency_key]);
export const jobOf = async (db: TestDatabase, runId: string) =>
  (
    await db.query(
      `select j.state::text as state from ${JOBS} j join agentpg_runs r on r.job_id = j.id where r.id = $1`,
      [runId],
    )
  )[0]?.state;

/** Starts the child `child` crashing at `at` and waits for its last line and its exit. */
export async function crashChild(env: CrashEnv, at: string, childEnv?: Record<string, string>) {
  const child = env.startChild('child', at, childEnv);
  const [, step, runId] = await child.line(CRASH_LINE);
  return { step, runId, exit: await child.exited };
}
export const messages = async (db: TestDatabase, runId: string) =>
  await db.query(`select role, content from agentpg_messages where run_id = $1 order by seq`, [runId]);
/** The side effects as (tool, attempt, instance), without their key. */
export const effectsBy = async (db: TestDatabase) => (await effects(db)).map((e) => e.slice(0, 3));
/** Polls until the run is suspended (awaiting_input): the survivor reached its wait. */
export const untilAwaitingInput = (db: TestDatabase, runId: string) =>
  untilValue(
    async () => (await runRow(db, runId)).state,
    (s) => s === 'awaiting_input',
    90_000,
  );
