import { defineAgent } from '../../src/index.js';
import { test } from '../helpers/fixtures.js';
import { MODEL, recordRunJobs } from './helpers.js';

/**
 * The shared fixtures plus two instances, `a` and `b`, both serving one 'chat' agent on the file's
 * database, with every run job recorded (recordRunJobs): for tests of concurrent callers and of
 * one instance acting on a run the other holds. Started once per file.
 */
export const testTwoInstances = test
  .extend('instances', { scope: 'file' }, async ({ db, startClient }) => {
    const agents = [defineAgent({ name: 'chat', model: MODEL })];
    const a = await startClient({ agents });
    const b = await startClient({ agents });
    await recordRunJobs(db);
    return { a, b };
  })
  .extend('a', { scope: 'file' }, ({ instances }) => instances.a)
  .extend('b', { scope: 'file' }, ({ instances }) => instances.b);
