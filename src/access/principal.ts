/**
 * Who a request acts for, from its key. `admin`: everything, keys included. `operator`: reads
 * everything, cancels runs, starts and stops long-running agents; creates no sessions or runs and
 * manages no keys. `tenant`: only the sessions, runs and events of its own tenants.
 */
export type Role = 'admin' | 'operator' | 'tenant';
export const ROLES: readonly Role[] = ['admin', 'operator', 'tenant'];

export interface Principal {
  role: Role;
  /** The tenants a `tenant` principal sees; empty for the other roles (they see all). */
  tenantIds: readonly string[];
  /** The API key's id; null for AGENTPG_API_TOKEN and for an open service (no token, no key). */
  keyId: string | null;
}

/** Whether the principal may see (and act on) data of this tenant. */
export function seesTenant(principal: Principal, tenantId: string): boolean {
  return principal.role !== 'tenant' || principal.tenantIds.includes(tenantId);
}
