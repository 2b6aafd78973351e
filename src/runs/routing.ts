import { createHash } from 'node:crypto';

/**
 * Capability routing over the one runs queue. Every run's job carries its agent's ROUTE KEY as its
 * pg-boss priority (a column of the job that pg-boss's own indexes lead with, after the queue name),
 * and an instance fetches only the keys of the agents it is capable of (sql/fetchAndClaimRuns.ts)
 * (registry.isCapable: the agent and every tool it lists). Everything else stays one queue:
 * key_strict_fifo still orders a session's runs across agents, and the tenant limit
 * is still counted over the whole queue.
 *
 * The key is derived from the name alone (first 4 bytes of its MD5, as a signed int32), so every
 * instance and the SQL function agentpg_route_key (the same formula, used by agentpg_enqueue_run)
 * agree without a lookup. Two agent names with the same key (odds 1 in 2^32 per pair) only cost
 * speed: an instance capable of one of them may fetch the other's job, which it hands back as
 * before routing existed (worker.ts, `foreign`).
 */
export function routeKeyOf(agentName: string): number {
  const key = createHash('md5').update(agentName, 'utf8').digest().readInt32BE(0);
  return key === LEGACY_ROUTE_KEY ? 1 : key;
}

/**
 * The priority of jobs written before routing existed (pg-boss's default): fetched by every
 * instance at its backstop poll, and a job of an agent it is not capable of is handed back.
 */
export const LEGACY_ROUTE_KEY = 0;
