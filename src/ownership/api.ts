import { randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import type { OwnershipManager } from './manager.js';
import { newMetrics } from './metrics.js';
import { GET_AGENT_SQL, KIND_OF_SQL, LIST_AGENTS_SQL, START_AGENT_SQL, STOP_AGENT_SQL } from './sql/api.js';
import type { LongRunningAgentInfo, OwnershipMetrics } from './types.js';

export interface StartLongRunningInput {
  /** Default: a random UUID. Starting an existing agent (same kind) sets it active again. */
  id?: string;
  kind: string;
  /** Handed to the handler as ctx.config. Omitted on a restart: the stored config is kept. */
  config?: Record<string, unknown>;
}

export interface ListLongRunningFilter {
  kind?: string;
  active?: boolean;
  ownerInstanceId?: string;
  /** Default 1000. */
  limit?: number;
}

/**
 * `client.longRunning`: desired state of long-running agents, from any instance (an instance that
 * registers no kind can still start, stop and inspect them). The owner reacts through NOTIFY, and
 * its sweep catches up if a notification was missed.
 */
export class LongRunningApi {
  constructor(
    private readonly runtime: () => Runtime,
    private readonly manager: () => OwnershipManager | null,
  ) {}

  async start(input: StartLongRunningInput): Promise<LongRunningAgentInfo> {
    if (!input || typeof input !== 'object') throw new ValidationError('longRunning.start: pass { kind, id?, config? }');
    const id = input.id ?? randomUUID();
    checkName('id', id);
    checkName('kind', input.kind);
    if (input.config !== undefined && (typeof input.config !== 'object' || input.config === null || Array.isArray(input.config))) {
      throw new ValidationError('longRunning.start: config must be a plain object');
    }
    let config: string | null = null;
    try {
      config = input.config === undefined ? null : JSON.stringify(input.config);
    } catch (err) {
      throw new ValidationError('longRunning.start: config must be JSON-serializable', { cause: err });
    }
    const { pool, registry, logger } = this.runtime();
    if (!registry.longRunningKinds.has(input.kind)) {
      logger.debug({ kind: input.kind }, 'starting a long-running agent of a kind this instance does not run');
    }
    const rows = (await pool.query(START_AGENT_SQL, [id, input.kind, config])).rows;
    if (rows.length === 0) {
      const existing = (await pool.query(KIND_OF_SQL, [id])).rows[0];
      throw new ValidationError(`long-running agent ${id} already exists with kind "${existing?.kind}", not "${input.kind}"`);
    }
    return toInfo(rows[0]);
  }

  /** Desired state inactive: the owner aborts the handler, lets it save, and releases the agent. */
  async stop(id: string): Promise<LongRunningAgentInfo> {
    checkName('id', id);
    const rows = (await this.runtime().pool.query(STOP_AGENT_SQL, [id])).rows;
    if (rows.length === 0) throw new NotFoundError('long-running agent', id);
    return toInfo(rows[0]);
  }

  async get(id: string): Promise<LongRunningAgentInfo> {
    checkName('id', id);
    const rows = (await this.runtime().pool.query(GET_AGENT_SQL, [id])).rows;
    if (rows.length === 0) throw new NotFoundError('long-running agent', id);
    return toInfo(rows[0]);
  }

  async list(filter: ListLongRunningFilter = {}): Promise<LongRunningAgentInfo[]> {
    const limit = filter.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new ValidationError('longRunning.list: limit must be 1..100000');
    const rows = (
      await this.runtime().pool.query(LIST_AGENTS_SQL, [filter.kind ?? null, filter.active ?? null, filter.ownerInstanceId ?? null, limit])
    ).rows;
    return rows.map(toInfo);
  }

  /** Seed 004's counters for this instance (zeros before start or when it owns nothing). */
  metrics(): OwnershipMetrics {
    return { ...(this.manager()?.metrics ?? newMetrics()) };
  }
}

function checkName(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > 255) {
    throw new ValidationError(`longRunning: ${field} must be a string of 1-255 characters`);
  }
}

function toInfo(r: any): LongRunningAgentInfo {
  return {
    id: r.id,
    kind: r.kind,
    active: r.active,
    shard: r.shard,
    ownerInstanceId: r.owner_instance_id,
    epoch: Number(r.epoch),
    checkpoint: r.checkpoint,
    config: r.config ?? {},
    restartCount: r.restart_count,
    lastError: r.last_error,
    lastActivityAt: r.last_activity_at,
    ownedSince: r.owned_since,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
