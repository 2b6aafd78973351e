import { rowMapper, type DbRow } from '../../db/rows.js';
import { compactions } from '../../db/schema/index.js';
import type { Compaction } from '../compactionTypes.js';

export type CompactionRow = DbRow<typeof compactions>;

const compactionOf = rowMapper(compactions);

export function mapCompaction(r: CompactionRow): Compaction {
  return compactionOf(r);
}
