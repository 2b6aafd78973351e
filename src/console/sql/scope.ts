/**
 * The tenants a console query may read: null for admin and operator keys (every tenant), else the
 * tenant key's own. Every console query over tenant data takes it as `$1::text[]` and filters with
 * `($1::text[] is null or tenant_id = any($1))`, so a tenant key never reads another tenant's rows.
 */
export type TenantScope = readonly string[] | null;

export function scopeParam(scope: TenantScope): string[] | null {
  return scope === null ? null : [...scope];
}

/** The scope of a request's key. */
export function scopeOf(principal: { role: string; tenantIds: readonly string[] }): TenantScope {
  return principal.role === 'tenant' ? principal.tenantIds : null;
}
