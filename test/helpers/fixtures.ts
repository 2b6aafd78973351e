import { test as base } from 'vitest';
import type { AgentPG, AgentPGConfig } from '../../src/index.js';
import { startFakeAnthropic, type FakeAnthropic } from '../../src/testing/index.js';
import { startTcpProxy, type TcpProxy } from '../../src/testing/tcpProxy.js';
import { startClient } from '../runs/helpers.js';
import { createTestDatabase, type TestDatabase } from './db.js';

/**
 * The tests' shared fixtures, one per test file (scope 'file'), each torn down after the file's
 * last test and its afterAll hooks:
 * - `db`: the file's own database, migrated (cloned from the run's template);
 * - `otherDb`: a second one, for a block of tests whose rows must not meet those of the file's others
 *   (`test('…', async ({ otherDb: db }) => …)`);
 * - `fake`: the fake Messages API (src/testing);
 * - `proxy`: a TCP proxy in front of the database server (`proxy.urlFor(db.url)`), to cut connections;
 * - `startClient(config)`: a started AgentPG on `db` and `fake`, stopped at the end (in reverse
 *   order of start, before the database is dropped).
 * Use them in tests (`test('…', async ({ db }) => …)`) or in `test.beforeAll(async ({ db }) => …)`.
 */
// vitest reads a fixture's dependencies from its first parameter, which must be a destructuring
// pattern: `{}` for none.
/* eslint-disable no-empty-pattern */
const database = async ({}, { onCleanup }: { onCleanup: (fn: () => Promise<void>) => void }) => {
  const db = await createTestDatabase();
  onCleanup(() => db.drop());
  return db;
};
export const test = base
  .extend('db', { scope: 'file' }, database)
  .extend('otherDb', { scope: 'file' }, database)
  .extend('fake', { scope: 'file' }, async ({}, { onCleanup }) => {
    const fake = await startFakeAnthropic();
    onCleanup(() => fake.close());
    return fake;
  })
  .extend('proxy', { scope: 'file' }, async ({ db }, { onCleanup }) => {
    const proxy = await startTcpProxy(db.url);
    onCleanup(() => proxy.close());
    return proxy;
  })
  .extend('startClient', { scope: 'file' }, async ({ db, fake }, { onCleanup }) => {
    const started: AgentPG[] = [];
    onCleanup(async () => {
      for (const c of started.reverse()) await c.stop();
    });
    return async (config: Partial<AgentPGConfig> = {}) => {
      const client = await startClient(db, fake, config);
      started.push(client);
      return client;
    };
  });
/* eslint-enable no-empty-pattern */

export type { TestDatabase, FakeAnthropic, TcpProxy };
