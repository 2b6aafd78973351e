// The runs' writes the cluster's cleanup pass makes (it never writes agentpg_runs itself). The
// public names of the runs module are exported by src/index.ts, each from the file defining it.
export { detachRunFromInstance } from './sql/detachRunFromInstance.js';
export { makeRunJobDue } from './sql/makeRunJobDue.js';
export { failRunOfLostInstance, INSTANCE_LOST_TYPE } from './sql/failRunOfLostInstance.js';
export { listUnroutableAgents, type UnroutableAgent } from './sql/unroutableRuns.js';
export { failStuckRuns, RUN_TIMED_OUT_MESSAGE, RUN_TIMED_OUT_TYPE, type StuckRun } from './sql/failStuckRuns.js';
