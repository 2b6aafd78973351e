export { OwnershipManager } from './manager.js';
export { memberTag, readSnapshot, type OwnershipSnapshot } from './snapshot.js';
export {
  LongRunningApi,
  startLongRunningAgent,
  stopLongRunningAgent,
  type StartLongRunningInput,
  type ListLongRunningFilter,
} from './api.js';
export { resolveOwnershipOptions, LOCK_NAMESPACE } from './options.js';
export { writeCheckpoint, fencedTransaction } from './runner.js';
export { planBalance } from './balance.js';
export type * from './types.js';
