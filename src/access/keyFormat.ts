import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * An API key reads `agpk_<id>_<secret>`: the prefix lets secret scanners and people recognise it,
 * the id finds its row by primary key, and only sha256(secret) is stored (see the schema's apiKeys
 * for why not bcrypt).
 */
const PREFIX = 'agpk_';
const FORMAT = /^agpk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function looksLikeApiKey(value: string): boolean {
  return value.startsWith(PREFIX);
}

export function newApiKey(): { id: string; secret: string; key: string } {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, key: `${PREFIX}${id}_${secret}` };
}

/** The id and secret of a well-formed key, else null (checked before any database access). */
export function parseApiKey(key: string): { id: string; secret: string } | null {
  const m = FORMAT.exec(key);
  return m ? { id: m[1], secret: m[2] } : null;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Compares a presented secret with a stored hash in constant time. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const got = Buffer.from(hashSecret(secret), 'hex');
  const want = Buffer.from(storedHash, 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}
