import { z } from 'zod';

/** retention.intervalMs when unset: one retention pass per 10 minutes across the cluster. */
export const RETENTION_INTERVAL_DEFAULT_MS = 10 * 60_000;
/** retention.batchSize when unset: sessions retired per batch transaction. */
export const RETENTION_BATCH_SIZE_DEFAULT = 100;
/** retention.mode when unset. */
export const RETENTION_MODE_DEFAULT = 'delete';

/**
 * Config `retention` (src/retention): off unless it names an age. A session is retired (deleted, or
 * moved to the agentpg_archive_* tables) once every run of it finished longer ago than its
 * tenant's age, and nothing holds it (the README's "Retention" section).
 */
export interface RetentionConfig {
  /** Every tenant's age (ms after its newest run finished). Unset: only the tenants in perTenant. */
  finishedRunsMaxAgeMs?: number;
  /** Per tenant, over finishedRunsMaxAgeMs; `null` keeps that tenant's sessions forever. */
  perTenant?: Record<string, number | null>;
  /** 'delete' (default) or 'archive': move the rows into agentpg_archive_* (jsonb, by key). */
  mode?: 'delete' | 'archive';
  /** Sessions per batch transaction. Default 100. */
  batchSize?: number;
  /** How often one instance of the cluster runs a pass. Default 10 min. */
  intervalMs?: number;
}

const ageMs = z.number().int().positive();

export const retentionSchema = z
  .object({
    finishedRunsMaxAgeMs: ageMs.optional(),
    perTenant: z.record(z.string().min(1).max(255), ageMs.nullable()).optional(),
    mode: z.enum(['delete', 'archive']).optional(),
    batchSize: z.number().int().min(1).max(10_000).optional(),
    intervalMs: ageMs.optional(),
  })
  .strict();

export interface RetentionSettings {
  mode: 'delete' | 'archive';
  batchSize: number;
  intervalMs: number;
  policies: RetentionPolicy[];
}

/** One sweep of a pass: the runs of `tenantId` (or of every tenant but `exceptTenants`), and their age. */
export interface RetentionPolicy {
  tenantId: string | null;
  exceptTenants: string[];
  maxAgeMs: number;
}

/** The settings of a validated config, or null when retention is off (no age anywhere). */
export function resolveRetention(c: RetentionConfig | undefined): RetentionSettings | null {
  if (!c) return null;
  const perTenant = Object.entries(c.perTenant ?? {});
  const policies: RetentionPolicy[] = perTenant
    .filter((e): e is [string, number] => e[1] !== null)
    .map(([tenantId, maxAgeMs]) => ({ tenantId, exceptTenants: [], maxAgeMs }));
  if (c.finishedRunsMaxAgeMs !== undefined)
    policies.push({ tenantId: null, exceptTenants: perTenant.map(([t]) => t), maxAgeMs: c.finishedRunsMaxAgeMs });
  if (policies.length === 0) return null;
  return {
    mode: c.mode ?? RETENTION_MODE_DEFAULT,
    batchSize: c.batchSize ?? RETENTION_BATCH_SIZE_DEFAULT,
    intervalMs: c.intervalMs ?? RETENTION_INTERVAL_DEFAULT_MS,
    policies,
  };
}
