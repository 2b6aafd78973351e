// The opt-in Citus step (docs/scaling.md): `DATABASE_URL=<coordinator> npx tsx scripts/citus-distribute.ts`
// migrates agentpg's and pg-boss's schema on the coordinator, then distributes the hot tables
// (src/db/citus/layout.ts). Idempotent.
import { distributeOnCitus } from '../src/db/citus/distribute.js';
import { migrate } from '../src/db/migrate.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL (the Citus coordinator) is required');
  process.exit(2);
}
await migrate(url);
const r = await distributeOnCitus(url);
console.log(
  r.distributed
    ? `distributed the agentpg tables over ${r.workers} workers (${r.views} views recreated)`
    : `already distributed (${r.workers} workers)`,
);
