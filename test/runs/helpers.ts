import { AgentPG, type AgentPGConfig, type RunState } from '../../src/index.js';
import type { FakeAnthropic, FakeRequest } from '../../src/testing/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { untilValue } from '../helpers/until.js';

export const MODEL = 'claude-fake-model';

/** A started client against the test database and the fake API, with test-friendly timings. */
export async function startClient(
  db: TestDatabase,
  fake: FakeAnthropic,
  config: Partial<AgentPGConfig> = {},
): Promise<AgentPG> {
  const client = new AgentPG({
    databaseUrl: db.url,
    anthropic: { apiKey: 'sk-ant-test-secret-key-123', baseURL: fake.url },
    migrate: false,
    shutdownTimeoutMs: 2000,
    ...config,
  });
  await client.start();
  return client;
}

/** Every tool_use in the stored transcript is answered by a tool_result in the next message. */
export function assertValidTranscript(messages: Array<{ role: string; content: any[] }>): void {
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (m.role !== 'assistant') continue;
    const uses = m.content.filter((b) => b.type === 'tool_use').map((b) => b.id);
    if (uses.length === 0) continue;
    const next = messages[i + 1];
    if (!next || next.role !== 'user') throw new Error(`tool_use at message ${i} has no following user message`);
    const answered = next.content.filter((b) => b.type === 'tool_result').map((b) => b.tool_use_id);
    for (const id of uses)
      if (!answered.includes(id)) throw new Error(`tool_use ${id} at message ${i} has no tool_result`);
    const firstNonResult = next.content.findIndex((b) => b.type !== 'tool_result');
    const lastResult = next.content.map((b) => b.type).lastIndexOf('tool_result');
    if (firstNonResult !== -1 && firstNonResult < lastResult)
      throw new Error(`tool_result blocks do not lead message ${i + 1}`);
  }
}

/**
 * A run's pg-boss job is deleted when the run ends, so "one job per run" cannot be read from the
 * job table afterwards. This records every job ever inserted into the runs queue (an AFTER INSERT
 * trigger on pg-boss's job table, cloned to its partitions) in `test_run_jobs`, for tests that
 * count jobs; `job` is the whole row as inserted.
 */
export async function recordRunJobs(db: TestDatabase): Promise<void> {
  await db.query(`create table if not exists test_run_jobs (job_id uuid, singleton_key text, run_id uuid, job jsonb)`);
  await db.query(`create or replace function test_record_run_job() returns trigger language plpgsql as $$
    begin
      if new.name = 'agentpg_runs' then
        insert into test_run_jobs values (new.id, new.singleton_key, (new.data->>'runId')::uuid, to_jsonb(new));
      end if;
      return null;
    end $$`);
  await db.query(`drop trigger if exists test_record_run_job on agentpg_boss.job`);
  await db.query(
    `create trigger test_record_run_job after insert on agentpg_boss.job for each row execute function test_record_run_job()`,
  );
}

/**
 * Records every activation (a fetch) and every hand-back (→ retry) of a runs-queue job, as the
 * database saw it, in `test_job_transitions` (an AFTER UPDATE trigger on pg-boss's job table), for
 * tests of who fetched what.
 */
export async function recordJobTransitions(db: TestDatabase): Promise<void> {
  await db.query(`create table test_job_transitions (job_id uuid, run_id uuid, state text, priority int)`);
  await db.query(`create function test_record_job_transition() returns trigger language plpgsql as $$
    begin
      if new.name = 'agentpg_runs' and new.state is distinct from old.state and new.state in ('active', 'retry') then
        insert into test_job_transitions values (new.id, (new.data->>'runId')::uuid, new.state::text, new.priority);
      end if;
      return null;
    end $$`);
  await db.query(
    `create trigger test_record_job_transition after update on agentpg_boss.job for each row execute function test_record_job_transition()`,
  );
}

/** Each instance with the agents it is linked to (agentpg_instance_agents), by instance id. */
export async function instanceAgentLinks(db: TestDatabase): Promise<Array<{ instance_id: string; agents: string[] }>> {
  return await db.query(
    `select instance_id, array_agg(agent_name order by agent_name) as agents
       from agentpg_instance_agents group by instance_id order by instance_id`,
  );
}

/** Polls the run through `client` until it is in `state`, and returns it as read then. */
export async function untilRunState(client: AgentPG, runId: string, state: RunState, timeoutMs?: number) {
  return (await untilValue(
    () => client.runs.get(runId),
    (r) => r?.state === state,
    timeoutMs,
  ))!;
}

/** The transcript of the run's whole session (every run of it), in order. */
export async function sessionTranscript(db: TestDatabase, runId: string) {
  return await db.query<{ role: string; content: any[] }>(
    `select role, content from agentpg_messages where session_id = (select session_id from agentpg_runs where id = $1) order by seq`,
    [runId],
  );
}

/**
 * A fake model that replies from the conversation, so concurrent runs get their own answers: a
 * prompt `tool:<name>:<json>` asks for that tool; a tool_result is echoed back as the final text
 * (`result: …`, `ERR ` before an error); any other prompt gets `plain: <prompt>`.
 */
export function toolPromptResponder(req: FakeRequest) {
  const last = req.body.messages.at(-1)!;
  const blocks = typeof last.content === 'string' ? [{ type: 'text', text: last.content }] : (last.content as any[]);
  const results = blocks.filter((b) => b.type === 'tool_result');
  if (results.length > 0)
    return { text: 'result: ' + results.map((r) => `${r.is_error ? 'ERR ' : ''}${String(r.content)}`).join('|') };
  const text = blocks.find((b) => b.type === 'text')?.text ?? '';
  const m = /^tool:(\w+):(.*)$/.exec(text);
  if (m) return { toolUses: [{ name: m[1], input: JSON.parse(m[2]) }] };
  return { text: `plain: ${text}` };
}
