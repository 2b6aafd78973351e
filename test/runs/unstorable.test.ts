import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, defineTool, RunFailedError, type AgentPG } from '../../src/index.js';
import { startFakeAnthropic, type FakeAnthropic } from '../../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { assertValidTranscript, MODEL, startClient } from './helpers.js';

// Text Postgres cannot store as is: U+0000 (text and jsonb) and a lone surrogate (jsonb).
const NUL = '\u0000';
const LONE = '\uD800';

let db: TestDatabase;
let fake: FakeAnthropic;
let client: AgentPG;
let toolRuns = 0;

const dirty = defineTool({
  name: 'dirty',
  description: 'Returns text with characters Postgres cannot store.',
  inputSchema: z.object({ q: z.string() }),
  execute: ({ q }) => {
    toolRuns++;
    return `tool${NUL}out${LONE}put for ${q}`;
  },
});

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeAnthropic();
  client = await startClient(db, fake, {
    agents: [defineAgent({ name: 'dirty', model: MODEL, tools: ['dirty'] })],
    tools: [dirty],
  });
});
afterAll(async () => {
  await client?.stop();
  await fake?.close();
  await db?.drop();
});

describe('model and tool output Postgres cannot store', () => {
  it('is stored with U+0000 and lone surrogates replaced by U+FFFD; one model call per turn, the tool run once', async () => {
    fake.reset();
    fake.enqueue(
      { text: `look${NUL}ing`, toolUses: [{ id: 'toolu_nul', name: 'dirty', input: { q: `a${NUL}b` } }] },
      { text: `final${NUL}answer${LONE}!` },
    );
    const agent = client.agent('dirty');
    const sessionId = await agent.newSession({ tenantId: 't', identifier: 'nul' });
    const res = await agent.run(sessionId, 'go');
    expect(res.run.state).toBe('completed');
    expect(res.text).toBe('final\uFFFDanswer\uFFFD!');
    expect(fake.stats.received).toBe(2);
    expect(toolRuns).toBe(1);
    expect(res.run.attempts).toBe(1);

    const [call] = await db.query(`select input, output, attempts from agentpg_tool_calls where run_id = $1`, [
      res.run.id,
    ]);
    expect(call).toEqual({ input: { q: 'a\uFFFDb' }, output: 'tool\uFFFDout\uFFFDput for a\uFFFDb', attempts: 1 });
    const messages = await db.query<{ role: string; content: any[] }>(
      `select role, content from agentpg_messages where run_id = $1 order by seq`,
      [res.run.id],
    );
    assertValidTranscript(messages);
    expect(messages[1].content[0]).toMatchObject({ type: 'text', text: 'look\uFFFDing' });
    expect(messages[2].content[0]).toMatchObject({
      type: 'tool_result',
      content: 'tool\uFFFDout\uFFFDput for a\uFFFDb',
    });
    // The model is sent what is stored.
    expect(JSON.stringify(fake.requests[1].body.messages)).not.toContain('\\u0000');
  });

  it('a permanent database error (SQLSTATE 22P05) fails the run once: no retry, one model call', async () => {
    fake.reset();
    // The database refuses this run's assistant messages the way it refuses an untranslatable character.
    await db.query(`create or replace function test_refuse_assistant() returns trigger language plpgsql as $$
      begin
        if new.role = 'assistant' and new.content::text like '%refuse me%' then
          raise exception 'unsupported Unicode escape sequence' using errcode = '22P05';
        end if;
        return new;
      end $$`);
    await db.query(
      `create trigger test_refuse_assistant before insert on agentpg_messages for each row execute function test_refuse_assistant()`,
    );
    try {
      fake.enqueue({ text: 'refuse me' });
      const agent = client.agent('dirty');
      const sessionId = await agent.newSession({ tenantId: 't', identifier: 'permanent' });
      const err = await agent.run(sessionId, 'go').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RunFailedError);
      const run = (err as RunFailedError).run;
      expect(run.errorType).toBe('storage_error');
      expect(run.errorMessage).toContain('22P05');
      const [row] = await db.query(`select attempts, state from agentpg_runs where id = $1`, [run.id]);
      expect(row).toEqual({ attempts: 1, state: 'failed' });
      expect(fake.stats.received).toBe(1);
    } finally {
      await db.query(`drop trigger test_refuse_assistant on agentpg_messages`);
    }
  });
});
