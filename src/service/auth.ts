import { timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { anyApiKey, verifyApiKey } from '../access/keys.js';
import { looksLikeApiKey } from '../access/keyFormat.js';
import type { Principal, Role } from '../access/principal.js';
import type { Queryable } from '../db/queryable.js';
import { HttpError } from './httpError.js';

export type AuthEnv = { Variables: { principal: Principal } };

/** AGENTPG_API_TOKEN, and any request to an open service. */
const ADMIN: Principal = { role: 'admin', tenantIds: [], keyId: null };

/**
 * Who a request acts for: AGENTPG_API_TOKEN is an admin key; an `agpk_` key is looked up in the
 * database on every request (no cache, so a revocation applies on every instance at once). With
 * neither a token nor any key ever created the service stays open as before (the start-up warning
 * covers it); once a key exists, it never reopens by itself (keys are revoked, not deleted).
 */
export function createAuthenticator(options: { apiToken?: string; db: Queryable }) {
  const expected = options.apiToken ? Buffer.from(options.apiToken) : null;
  let keysExist = false; // only ever turns true: key rows are never deleted
  const isOpen = async (): Promise<boolean> => {
    if (expected) return false;
    if (!keysExist) keysExist = await anyApiKey(options.db);
    return !keysExist;
  };

  /** The principal of a presented token or key (a bearer header, the console's cookie), or null. */
  const principalOf = async (token: string | undefined): Promise<Principal | null> => {
    if (token !== undefined) {
      if (expected) {
        const got = Buffer.from(token);
        if (got.length === expected.length && timingSafeEqual(got, expected)) return ADMIN;
      }
      if (looksLikeApiKey(token)) return await verifyApiKey(options.db, token);
    }
    return (await isOpen()) ? ADMIN : null;
  };

  const authenticate = (c: Context): Promise<Principal | null> => principalOf(bearerToken(c));

  /** Sets the request's principal, or answers 401. */
  const guard = (): MiddlewareHandler<AuthEnv> => async (c, next) => {
    const principal = await authenticate(c);
    if (!principal)
      throw new HttpError(401, 'authentication_error', 'missing, wrong or revoked bearer token or API key');
    c.set('principal', principal);
    await next();
  };
  return { guard, isOpen, principalOf };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;

/** The token of an `Authorization: Bearer` header, if any. */
export function bearerToken(c: Context): string | undefined {
  return /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1];
}

/** 403 unless the request's role is one of these (the route exists for everyone, so no 404). */
export function requireRole(...roles: Role[]): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const { role } = c.get('principal');
    if (!roles.includes(role)) {
      throw new HttpError(
        403,
        'permission_error',
        `this needs a key with role ${roles.join(' or ')} (this one is ${role})`,
      );
    }
    await next();
  };
}
