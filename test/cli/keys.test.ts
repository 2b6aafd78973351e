import { createHash } from 'node:crypto';
import { describe, expect } from 'vitest';
import { cliProcess } from '../helpers/cli.js';
import { verifyApiKey } from '../../src/access/keys.js';
import { runCli } from '../../src/cli/main.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';

/** The same CLI in this process (runCli, what bin.ts calls). */
async function cli(db: TestDatabase, ...args: string[]): Promise<{ code: number; stdout: string }> {
  const lines: string[] = [];
  const prev = process.env.DATABASE_URL;
  process.env.DATABASE_URL = db.url;
  try {
    const code = await runCli(args, (s) => lines.push(s));
    return { code, stdout: lines.join('\n') };
  } finally {
    process.env.DATABASE_URL = prev;
  }
}

describe('agentpg keys create | list | revoke', () => {
  test('creates a key shown once, stores only its hash, lists it without secret, and revokes it', async ({ db }) => {
    const created = await cliProcess(
      db.url,
      'keys',
      'create',
      '--role',
      'tenant',
      '--tenant',
      'A',
      '--tenant',
      'B',
      '--name',
      'acme',
    );
    expect(created.code).toBe(0);
    const key = /key \(shown only now, store it safely\): (agpk_\S+)/.exec(created.stdout)?.[1];
    expect(key).toMatch(/^agpk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const [, id, secret] = /^agpk_([0-9a-f]{16})_(.+)$/.exec(key!)!;

    const [row] = await db.query('select * from agentpg_api_keys where id = $1', [id]);
    expect(row).toMatchObject({ name: 'acme', role: 'tenant', tenant_ids: ['A', 'B'], revoked_at: null });
    expect(row.hash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(await verifyApiKey(db.pool, key!)).toEqual({ role: 'tenant', tenantIds: ['A', 'B'], keyId: id });

    const listed = await cli(db, 'keys', 'list', '--json');
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.stdout);
    expect(rows).toEqual([expect.objectContaining({ id, name: 'acme', role: 'tenant', tenantIds: ['A', 'B'] })]);
    expect(listed.stdout).not.toContain(secret);
    expect(listed.stdout).not.toContain(row.hash);
    expect((await cli(db, 'keys', 'list')).stdout).toMatch(new RegExp(`${id}\\s+acme\\s+tenant\\s+A,B`));

    const revoked = await cli(db, 'keys', 'revoke', id, '--json');
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout).revokedAt).not.toBeNull();
    expect(await verifyApiKey(db.pool, key!)).toBeNull();
    expect(JSON.parse((await cli(db, 'keys', 'list', '--json')).stdout)).toEqual([]);
    expect(JSON.parse((await cli(db, 'keys', 'list', '--all', '--json')).stdout)).toHaveLength(1);
  });

  test('refuses a tenant key without a tenant, an admin key with one, an unknown role, and an unknown id', async ({
    db,
  }) => {
    const noTenant = await cli(db, 'keys', 'create', '--role', 'tenant');
    expect(noTenant).toMatchObject({ code: 2, stdout: expect.stringMatching(/a tenant key needs a tenant/) });
    const adminTenant = await cli(db, 'keys', 'create', '--role', 'admin', '--tenant', 'A');
    expect(adminTenant).toMatchObject({ code: 2, stdout: expect.stringMatching(/sees every tenant/) });
    expect((await cli(db, 'keys', 'create', '--role', 'root')).code).toBe(2);
    expect((await cli(db, 'keys', 'revoke', 'nope')).code).toBe(1);
    const admin = await cli(db, 'keys', 'create', '--role', 'operator', '--json');
    expect(JSON.parse(admin.stdout)).toMatchObject({
      role: 'operator',
      tenantIds: [],
      key: expect.stringMatching(/^agpk_/),
    });
  });
});
