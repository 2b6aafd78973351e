import { describe, expect, it } from 'vitest';
import {
  COORDINATOR_TABLES,
  DISTRIBUTED_TABLES,
  NOTIFY_TRIGGERS_DROPPED_ON_CITUS,
  REKEYED_ON_CITUS,
  FOREIGN_KEYS_DROPPED_ON_CITUS,
} from '../../src/db/citus/layout.js';
import { defineAgent, NotFoundError, type AgentPG } from '../../src/index.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';

// The single-server schema stays ready for the Citus layout (docs/scaling.md,
// src/db/citus/layout.ts), read back from the catalog of a freshly migrated database: a table
// added without a place in the layout, a hot table without its key in a unique index, or a
// foreign key Citus would reject fails here, long before anyone runs the Citus step.

let db: TestDatabase;
let startClientForSessions: () => Promise<AgentPG>;
test.beforeAll(async ({ db: testDb, startClient }) => {
  db = testDb;
  startClientForSessions = () =>
    startClient({ agents: [defineAgent({ name: 'chat', model: 'claude-fake-model', maxTokens: 16 })] });
});

const distributed = new Map(DISTRIBUTED_TABLES.map((t) => [t.table, t.key]));

interface UniqueIndex {
  table: string;
  name: string;
  columns: string[];
}

async function uniqueIndexes(): Promise<UniqueIndex[]> {
  // Primary keys and unique constraints are unique indexes too (pg_index covers all three).
  return db.query<UniqueIndex>(
    `select c.relname as table, i.relname as name,
            array(select a.attname::text from unnest(x.indkey) k join pg_attribute a
                   on a.attrelid = x.indrelid and a.attnum = k) as columns
       from pg_index x
       join pg_class c on c.oid = x.indrelid
       join pg_class i on i.oid = x.indexrelid
       join pg_namespace n on n.oid = c.relnamespace
      where x.indisunique and n.nspname = 'public' and c.relname like 'agentpg\\_%'`,
  );
}

describe('the schema is ready for the Citus layout', () => {
  it('places every agentpg table: distributed by a key, or on the coordinator', async () => {
    const rows = await db.query<{ name: string }>(
      `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname = 'public' and c.relname like 'agentpg\\_%' order by 1`,
    );
    const placed = new Set([...distributed.keys(), ...COORDINATOR_TABLES]);
    expect(rows.map((r) => r.name).filter((t) => !placed.has(t))).toEqual([]);
    // And the layout names no table that does not exist.
    expect([...placed].filter((t) => !rows.some((r) => r.name === t))).toEqual([]);
  });

  it('treats every table that holds session or run rows as hot: it is distributed, not on the coordinator', async () => {
    // A table with a session_id or run_id column, or a foreign key to a distributed table, grows with
    // the runs: it must be distributed (and so carry its key), never left on the coordinator.
    const rows = await db.query<{ name: string }>(
      `select distinct c.relname as name
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname = 'public' and c.relname like 'agentpg\\_%'
          and (exists (select 1 from pg_attribute a where a.attrelid = c.oid and not a.attisdropped
                         and a.attname in ('session_id', 'run_id'))
               or exists (select 1 from pg_constraint f where f.conrelid = c.oid and f.contype = 'f'
                            and f.confrelid::regclass::text = any($1::text[])))`,
      [[...distributed.keys()]],
    );
    expect(rows.map((r) => r.name).filter((t) => !distributed.has(t))).toEqual([]);
  });

  it('gives every distributed table its key as a NOT NULL column inside a unique index', async () => {
    const cols = await db.query<{ table: string; column: string; not_null: boolean }>(
      `select c.relname as table, a.attname as column, a.attnotnull as not_null
         from pg_attribute a join pg_class c on c.oid = a.attrelid
        where c.relname = any($1::text[]) and a.attnum > 0 and not a.attisdropped`,
      [[...distributed.keys()]],
    );
    const indexes = await uniqueIndexes();
    for (const [table, key] of distributed) {
      expect(
        cols.find((c) => c.table === table && c.column === key),
        `${table}.${key}`,
      ).toMatchObject({
        not_null: true,
      });
      const withKey = indexes.filter((i) => i.table === table && i.columns.includes(key));
      expect(withKey.length, `a unique index of ${table} including ${key}`).toBeGreaterThan(0);
    }
  });

  it('has no unique index on a distributed table without its key, except the ones the Citus step re-keys', async () => {
    const without = (await uniqueIndexes())
      .filter((i) => distributed.has(i.table) && !i.columns.includes(distributed.get(i.table)!))
      .map((i) => i.name)
      .sort();
    expect(without).toEqual(Object.keys(REKEYED_ON_CITUS).sort());
    // Each re-keyed definition leads with the table's key, so Citus accepts it.
    for (const { table, definition } of Object.values(REKEYED_ON_CITUS))
      expect(definition).toMatch(new RegExp(`\\(${distributed.get(table)},`));
  });

  it('has no foreign key Citus would reject: only key to key between co-located tables, none into them from the coordinator', async () => {
    const fks = await db.query<{ name: string; from: string; to: string; from_cols: string[]; to_cols: string[] }>(
      `select f.conname as name, f.conrelid::regclass::text as from, f.confrelid::regclass::text as to,
              array(select a.attname::text from unnest(f.conkey) k join pg_attribute a
                     on a.attrelid = f.conrelid and a.attnum = k) as from_cols,
              array(select a.attname::text from unnest(f.confkey) k join pg_attribute a
                     on a.attrelid = f.confrelid and a.attnum = k) as to_cols
         from pg_constraint f
        where f.contype = 'f' and (f.conrelid::regclass::text like 'agentpg\\_%' or f.confrelid::regclass::text like 'agentpg\\_%')`,
    );
    const dropped = new Set(FOREIGN_KEYS_DROPPED_ON_CITUS.map((f) => f.constraint));
    const rejected = fks.filter((f) => {
      if (dropped.has(f.name)) return false; // the Citus step drops it (layout.ts says why)
      const fromKey = distributed.get(f.from);
      const toKey = distributed.get(f.to);
      if (fromKey === undefined && toKey === undefined) return false; // coordinator to coordinator
      if (fromKey === undefined || toKey === undefined) return true; // across the two kinds
      // Between distributed tables: the referencing key must be the referenced key, so both rows
      // are on the same shard (co-located by session).
      const i = f.from_cols.indexOf(fromKey);
      return i === -1 || f.to_cols[i] !== toKey;
    });
    expect(
      rejected.map((f) => `${f.name}: ${f.from}(${f.from_cols.join(', ')}) -> ${f.to}(${f.to_cols.join(', ')})`),
    ).toEqual([]);
    // The co-located ones that stay: a run and a compaction belong to their session.
    expect(
      fks
        .filter((f) => distributed.has(f.from) && !dropped.has(f.name))
        .map((f) => f.from)
        .sort(),
    ).toEqual(['agentpg_compactions', 'agentpg_runs', 'agentpg_session_holds']);
    // Each dropped one exists (a renamed constraint would otherwise slip through unchecked).
    for (const f of FOREIGN_KEYS_DROPPED_ON_CITUS) expect(fks.map((k) => k.name)).toContain(f.constraint);
  });

  it('names only NOTIFY triggers that exist, on distributed tables', async () => {
    const rows = await db.query<{ table: string; trigger: string }>(
      `select tgrelid::regclass::text as table, tgname as trigger from pg_trigger where not tgisinternal`,
    );
    for (const t of NOTIFY_TRIGGERS_DROPPED_ON_CITUS) {
      expect(distributed.has(t.table)).toBe(true);
      expect(rows).toContainEqual(t);
    }
  });

  it('fails the check for a hot table added without its key (the check itself can fail)', async () => {
    // A table of per-run rows left out of the layout is caught by the placement rule above; one
    // that names its key but has no unique index with it by the key rule. Both, on a scratch table.
    await db.query(`create table agentpg_test_run_notes (id uuid primary key, run_id uuid not null)`);
    try {
      const rows = await db.query<{ name: string }>(
        `select c.relname as name from pg_class c
          where c.relname like 'agentpg\\_%' and c.relkind = 'r'
            and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'run_id')`,
      );
      expect(rows.map((r) => r.name).filter((t) => !distributed.has(t))).toEqual(['agentpg_test_run_notes']);
      const withKey = (await uniqueIndexes()).filter(
        (i) => i.table === 'agentpg_test_run_notes' && i.columns.includes('run_id'),
      );
      expect(withKey).toEqual([]);
    } finally {
      await db.query(`drop table agentpg_test_run_notes`);
    }
  });
});

describe('what the two dropped cross-session foreign keys did, still done (migration citus_ready)', () => {
  it('refuses a session whose parent does not exist, with NotFoundError; accepts an existing parent', async () => {
    const client = await startClientForSessions();
    const agent = client.agent('chat');
    const parent = await agent.newSession({ tenantId: 't', identifier: 'parent' });
    const child = await agent.newSession({ tenantId: 't', identifier: 'child', parentSessionId: parent });
    expect((await db.query(`select parent_session_id from agentpg_sessions where id = $1`, [child]))[0]).toEqual({
      parent_session_id: parent,
    });
    await expect(
      agent.newSession({
        tenantId: 't',
        identifier: 'orphan',
        parentSessionId: '00000000-0000-4000-8000-000000000000',
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(await db.query(`select 1 from agentpg_sessions where identifier = 'orphan'`)).toEqual([]);
  });

  it('clears parent_session_id and parent_run_id when the parent is deleted (ON DELETE SET NULL)', async () => {
    const [p] = await db.query(`insert into agentpg_sessions (tenant_id, identifier) values ('t', 'p') returning id`);
    const [c] = await db.query(
      `insert into agentpg_sessions (tenant_id, identifier, parent_session_id) values ('t', 'c', $1) returning id`,
      [p.id],
    );
    const [pr] = await db.query(
      `insert into agentpg_runs (session_id, agent_name, tenant_id, prompt) values ($1, 'chat', 't', 'x') returning id`,
      [p.id],
    );
    const [cr] = await db.query(
      `insert into agentpg_runs (session_id, agent_name, tenant_id, prompt, parent_run_id, parent_tool_call_id, depth)
       values ($1, 'chat', 't', 'y', $2, gen_random_uuid(), 1) returning id`,
      [c.id, pr.id],
    );
    await db.query(`delete from agentpg_runs where id = $1`, [pr.id]);
    expect(await db.query(`select parent_run_id from agentpg_runs where id = $1`, [cr.id])).toEqual([
      { parent_run_id: null },
    ]);
    await db.query(`delete from agentpg_sessions where id = $1`, [p.id]);
    expect(await db.query(`select parent_session_id from agentpg_sessions where id = $1`, [c.id])).toEqual([
      { parent_session_id: null },
    ]);
  });
});
