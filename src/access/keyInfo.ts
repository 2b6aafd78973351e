// Public type (src/index.ts), apart from sql/rows.ts so the published declarations never import
// the drizzle schema.
import type { Role } from './principal.js';

/** An API key as listed: never its hash, never its secret. */
export interface ApiKeyInfo {
  id: string;
  name: string | null;
  role: Role;
  tenantIds: string[];
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}
