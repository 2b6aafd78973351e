import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { START_AGENT_SQL, STOP_AGENT_SQL } from '../ownership/sql/api.js';

/**
 * `agentpg long-running start|stop` use the same statements as `client.longRunning`, so the owning
 * instance is woken by the same NOTIFY whether a person or the API changed the desired state.
 */
export async function startLongRunningAgent(
  db: pg.Pool,
  input: { id?: string; kind: string; config: Record<string, unknown> },
): Promise<Record<string, unknown>> {
  const { rows } = await db.query(START_AGENT_SQL, [input.id ?? randomUUID(), input.kind, JSON.stringify(input.config)]);
  if (rows.length === 0) throw new Error(`long-running agent ${input.id} already exists with another kind`);
  return rows[0];
}

export async function stopLongRunningAgent(db: pg.Pool, id: string): Promise<Record<string, unknown> | null> {
  const { rows } = await db.query(STOP_AGENT_SQL, [id]);
  return rows[0] ?? null;
}
