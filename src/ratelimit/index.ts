import type { Queryable } from '../db/queryable.js';
import { apiKeyHash } from './keyHash.js';
import { ModelRateLimiter } from './limiter.js';
import { RATE_LIMIT_DEFAULTS, type RateLimitSettings } from './settings.js';

export { ModelRateLimiter, RateLimitDeferral, type Permit } from './limiter.js';
export { RATE_LIMIT_DEFAULTS, type RateLimitSettings, type ModelRateLimits } from './settings.js';
export { listRateLimits, type RateLimitRow } from './sql/listRateLimits.js';

/** The client's limiter (null when turned off). The key is hashed here and then forgotten. */
export function createRateLimiter(
  db: Queryable,
  settings: RateLimitSettings | undefined,
  apiKey: string | null | undefined,
  reportError: (err: unknown, context?: string) => void,
): ModelRateLimiter | null {
  const s = settings ?? {};
  if (!(s.enabled ?? RATE_LIMIT_DEFAULTS.enabled)) return null;
  return new ModelRateLimiter(db, s, apiKeyHash(apiKey), reportError);
}
