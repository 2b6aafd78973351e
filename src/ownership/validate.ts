import { ConfigError } from '../errors.js';
import { resolveOwnershipOptions } from './options.js';
import type { LongRunningKind, OwnershipOptions } from './types.js';

/** Called from resolveConfig: bad ownership options or kinds are a ConfigError at construction. */
export function validateOwnershipConfig(
  options: OwnershipOptions | undefined,
  kinds: LongRunningKind[] | undefined,
): void {
  resolveOwnershipOptions(options);
  for (const k of kinds ?? []) {
    if (!k || typeof k.kind !== 'string' || k.kind.length === 0 || k.kind.length > 255) {
      throw new ConfigError('invalid config: every longRunning kind needs a `kind` name (1-255 characters)');
    }
    if (typeof k.handler !== 'function')
      throw new ConfigError(`invalid config: longRunning kind "${k.kind}" has no handler function`);
  }
}
