import type { Runtime } from '../runtime.js';
import type { RunStepInfo, RunStepName } from './stepTypes.js';

/** Calls the hook if one is configured; without one this is a property read and nothing else. */
export function emitRunStep(
  rt: Pick<Runtime, 'config' | 'reportError'>,
  step: RunStepName,
  info: RunStepInfo,
): Promise<void> | undefined {
  const hook = rt.config.onRunStep;
  if (!hook) return undefined;
  return (async () => {
    try {
      await hook(step, info);
    } catch (err) {
      rt.reportError(err, `onRunStep(${step})`);
    }
  })();
}
