/**
 * The few agentpg calls the harness makes, in one place: the benchmarks use only the public API
 * (`new AgentPG`, `agent().newSession/enqueue`, `longRunning.start`, `events.subscribe`), and if
 * a signature changes this is the one file to adapt.
 */
import type { AgentPG } from '../../src/client.js';

export async function newSession(client: AgentPG, agent: string, tenantId: string, identifier: string): Promise<string> {
  const s = (await client.agent(agent).newSession({ tenantId, identifier })) as unknown;
  return typeof s === 'string' ? s : (s as { id: string }).id;
}

export async function enqueue(client: AgentPG, agent: string, sessionId: string, prompt: string): Promise<string> {
  const r = (await client.agent(agent).enqueue(sessionId, prompt)) as unknown;
  return typeof r === 'string' ? r : (r as { id: string }).id;
}

export async function startLongRunning(client: AgentPG, id: string, kind: string, config: Record<string, unknown> = {}): Promise<void> {
  await client.longRunning.start({ id, kind, config });
}
