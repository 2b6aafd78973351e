import { randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import type { OwnershipManager } from './manager.js';
import { newMetrics } from './metrics.js';
import type { Queryable } from '../db/queryable.js';
import { agentKind } from './sql/agentKind.js';
import type { AgentRow } from './sql/agentRow.js';
import { getAgent } from './sql/getAgent.js';
import { listAgents } from './sql/listAgents.js';
import { startAgent } from './sql/startAgent.js';
import { stopAgent } from './sql/stopAgent.js';
import type { LongRunningAgentInfo, OwnershipMetrics } from './types.js';

export interface StartLongRunningInput {
  /** Default: a random UUID. Starting an existing agent (same kind) sets it active again. */
  id?: string;
  kind: string;
  /** Handed to the handler as ctx.config. Omitted on a restart: the stored config is kept. */
  config?: Record<string, unknown>;
  /**
   * false: create the agent (or update an existing one's config) without running it; it stays
   * `stopped` until `start({ id, kind })`. Default true.
   */
  active?: boolean;
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
  /** @internal */
  constructor(
    private readonly runtime: () => Runtime,
    private readonly manager: () => OwnershipManager | null,
  ) {}

  async start(input: StartLongRunningInput): Promise<LongRunningAgentInfo> {
    const { pool, registry, logger } = this.runtime();
    const row = await startLongRunningAgent(pool, input, (kind) => {
      if (!registry.longRunningKinds.has(kind)) {
        logger.debug({ kind }, 'starting a long-running agent of a kind this instance does not run');
      }
    });
    return toInfo(row);
  }

  /** Desired state inactive: the owner aborts the handler, lets it save, and releases the agent. */
  async stop(id: string): Promise<LongRunningAgentInfo> {
    return toInfo(await stopLongRunningAgent(this.runtime().pool, id));
  }

  async get(id: string): Promise<LongRunningAgentInfo> {
    checkName('id', id);
    const row = await getAgent(this.runtime().pool, id);
    if (!row) throw new NotFoundError('long-running agent', id);
    return toInfo(row);
  }

  async list(filter: ListLongRunningFilter = {}): Promise<LongRunningAgentInfo[]> {
    const limit = filter.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000)
      throw new ValidationError('longRunning.list: limit must be 1..100000');
    const rows = await listAgents(this.runtime().pool, {
      kind: filter.kind ?? null,
      active: filter.active ?? null,
      ownerInstanceId: filter.ownerInstanceId ?? null,
      limit,
    });
    return rows.map(toInfo);
  }

  /** The ownership counters of this instance (zeros before start or when it owns nothing). */
  metrics(): OwnershipMetrics {
    return { ...(this.manager()?.metrics ?? newMetrics()) };
  }
}

/**
 * The one way to start (or restart) a long-running agent, shared by `client.longRunning.start`, the
 * HTTP service and the CLI: a restart without `config` keeps the stored config (no caller may turn an
 * omitted config into `{}`), and the owning instance is woken by the same NOTIFY whoever called.
 * `validated` is called once the input passed, before the write. Returns the stored row.
 */
export async function startLongRunningAgent(
  db: Queryable,
  input: StartLongRunningInput,
  validated?: (kind: string) => void,
): Promise<AgentRow> {
  if (!input || typeof input !== 'object') throw new ValidationError('longRunning.start: pass { kind, id?, config? }');
  const id = input.id ?? randomUUID();
  checkName('id', id);
  checkName('kind', input.kind);
  if (
    input.config !== undefined &&
    (typeof input.config !== 'object' || input.config === null || Array.isArray(input.config))
  ) {
    throw new ValidationError('longRunning.start: config must be a plain object');
  }
  if (input.active !== undefined && typeof input.active !== 'boolean') {
    throw new ValidationError('longRunning.start: active must be a boolean');
  }
  let config: string | null;
  try {
    config = input.config === undefined ? null : JSON.stringify(input.config);
  } catch (err) {
    throw new ValidationError('longRunning.start: config must be JSON-serializable', { cause: err });
  }
  validated?.(input.kind);
  const row = await startAgent(db, id, input.kind, config, input.active ?? true);
  if (!row) {
    const existing = await agentKind(db, id);
    throw new ValidationError(`long-running agent ${id} already exists with kind "${existing}", not "${input.kind}"`);
  }
  return row;
}

/** stop() with its validation, on any connection (client.longRunning and the CLI). */
export async function stopLongRunningAgent(db: Queryable, id: string): Promise<AgentRow> {
  checkName('id', id);
  const row = await stopAgent(db, id);
  if (!row) throw new NotFoundError('long-running agent', id);
  return row;
}

function checkName(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > 255) {
    throw new ValidationError(`longRunning: ${field} must be a string of 1-255 characters`);
  }
}

function toInfo(r: AgentRow): LongRunningAgentInfo {
  return {
    id: r.id,
    kind: r.kind,
    active: r.active,
    state: r.active ? 'active' : r.failed_at ? 'failed' : 'stopped',
    failedAt: r.failed_at,
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
