/**
 * The few agentpg calls the harness's worker processes make, in one place: the benchmarks use only
 * the public API (`new AgentPG`, `agent().newSession/enqueue`, `longRunning.start`,
 * `events.subscribe`), and if a signature changes this is the one file to adapt.
 */
import type { AgentPG } from '../../src/client.js';

export function newSession(client: AgentPG, agent: string, tenantId: string, identifier: string): Promise<string> {
  return client.agent(agent).newSession({ tenantId, identifier });
}

export function enqueue(client: AgentPG, agent: string, sessionId: string, prompt: string): Promise<string> {
  return client.agent(agent).enqueue(sessionId, prompt);
}

export async function startLongRunning(
  client: AgentPG,
  id: string,
  kind: string,
  config: Record<string, unknown> = {},
): Promise<void> {
  await client.longRunning.start({ id, kind, config });
}
