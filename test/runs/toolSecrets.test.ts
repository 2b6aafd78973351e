import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, defineTool, type AgentPG } from '../../src/index.js';
import { RUN_STREAM_CHANNEL as STREAM_CHANNEL } from '../../src/events/channels.js';
import { startFakeAnthropic, type FakeAnthropic } from '../../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { MODEL, startClient } from './helpers.js';

// The server trusts local connections, so a password in the URL is accepted and never checked:
// the client still knows it as its database password.
// The client's database password: this one on a trust-auth server (any password is accepted), or
// the server's own when it checks passwords (the embedded test server does).
let DB_PASSWORD = 'Db-Pa55word-4-tests';
const API_KEY = 'sk-ant-api03-ToolLeakedThisKey0123456789abcdef';

let db: TestDatabase;
let fake: FakeAnthropic;
let client: AgentPG;
const logLines: string[] = [];

const leaky = defineTool({
  name: 'leaky',
  description: 'Fails with a message full of secrets, like a driver error would.',
  inputSchema: z.object({}),
  execute() {
    throw new Error(
      `connect to postgres://app:${DB_PASSWORD}@db.internal/app failed; password was ${DB_PASSWORD}; ` +
        `upstream said: invalid x-api-key ${API_KEY}`,
    );
  },
});

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeAnthropic();
  const url = new URL(db.url);
  if (url.password) DB_PASSWORD = decodeURIComponent(url.password);
  else url.password = DB_PASSWORD;
  client = await startClient(db, fake, {
    databaseUrl: url.toString(),
    agents: [defineAgent({ name: 'leaky', model: MODEL, tools: ['leaky'] })],
    tools: [leaky],
    logger: pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) }),
  });
});
afterAll(async () => {
  await client?.stop();
  await fake?.close();
  await db?.drop();
});

describe('a tool error carrying secrets', () => {
  it('reaches no stored row, stream event, model request or log line', async () => {
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    const events: string[] = [];
    listener.on('notification', (n) => events.push(n.payload ?? ''));
    await listener.query(`listen ${STREAM_CHANNEL}`);
    try {
      fake.enqueue({ toolUses: [{ id: 'toolu_leak', name: 'leaky', input: {} }] }, { text: 'the tool failed' });
      const agent = client.agent('leaky');
      const sessionId = await agent.newSession({ tenantId: 't', identifier: 'leak' });
      const res = await agent.run(sessionId, 'go');
      expect(res.text).toBe('the tool failed');

      const [call] = await db.query(
        `select output, error_message, is_error from agentpg_tool_calls where run_id = $1`,
        [res.run.id],
      );
      expect(call.is_error).toBe(true);
      expect(call.error_message).toContain('password was ***');
      const everything = [
        JSON.stringify(await db.query(`select * from agentpg_tool_calls where run_id = $1`, [res.run.id])),
        JSON.stringify(await db.query(`select * from agentpg_messages where run_id = $1`, [res.run.id])),
        JSON.stringify(await db.query(`select * from agentpg_runs where id = $1`, [res.run.id])),
        JSON.stringify(fake.requests.map((r) => r.body)),
        ...events,
        ...logLines,
      ].join('\n');
      expect(events.some((e) => e.includes('tool_result'))).toBe(true);
      expect(everything).not.toContain(DB_PASSWORD);
      expect(everything).not.toContain(API_KEY);
      expect(everything).not.toContain('ToolLeakedThisKey');
    } finally {
      await listener.end();
    }
  });
});
