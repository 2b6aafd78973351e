import type { Runtime } from '../runtime.js';
import type { BatchStepInfo, BatchStepName, ResolvedBatchSettings } from './settings.js';

/** config.batch.onStep at a point of the poll pass, awaited; a throw is reported, never fails the pass. */
export async function emitBatchStep(
  rt: Pick<Runtime, 'reportError'>,
  settings: ResolvedBatchSettings,
  step: BatchStepName,
  info: BatchStepInfo,
): Promise<void> {
  if (!settings.onStep) return;
  try {
    await settings.onStep(step, info);
  } catch (err) {
    rt.reportError(err, `batch.onStep(${step})`);
  }
}
