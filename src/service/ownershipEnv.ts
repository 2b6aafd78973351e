import { ConfigError } from '../errors.js';
import { resolveOwnershipOptions } from '../ownership/options.js';
import type { OwnershipOptions } from '../ownership/types.js';

/** The service's switches for long-running agents, read from its environment. */
export interface LongRunningEnv {
  /**
   * AGENTPG_AGENT_RECOVERY=0: this instance registers no long-running kind, so it never takes an
   * agent over (neither at start-up nor from a dead instance); it can still start, stop and list
   * them for the instances that do.
   */
  recovery: boolean;
  ownership: OwnershipOptions;
}

/** Env var -> ownership option (src/ownership/options.ts says what each one does and why). */
const DURATIONS = {
  AGENTPG_OWNERSHIP_LEASE_MS: 'clientLeaseMs',
  AGENTPG_OWNERSHIP_SERVER_LEASE_MS: 'serverLeaseMs',
  AGENTPG_OWNERSHIP_HEARTBEAT_MS: 'heartbeatIntervalMs',
  AGENTPG_OWNERSHIP_MAX_RESTARTS: 'maxRestarts',
  AGENTPG_OWNERSHIP_RESTART_WINDOW_MS: 'restartWindowMs',
} as const satisfies Record<string, keyof OwnershipOptions>;

/**
 * Reads and checks the variables before anything starts: a typo is a ConfigError naming the
 * variable, and a lease combination the ownership manager would refuse is refused here with the
 * variables' names. AGENTPG_OWNERSHIP_LEASE_MS alone also sets the server lease to twice it (the
 * defaults' ratio), since the server lease must exceed heartbeat + client lease.
 */
export function readLongRunningEnv(env: NodeJS.ProcessEnv): LongRunningEnv {
  const recoveryRaw = (env.AGENTPG_AGENT_RECOVERY ?? '1').trim().toLowerCase();
  if (!['1', 'true', 'on', 'yes', '0', 'false', 'off', 'no'].includes(recoveryRaw)) {
    throw new ConfigError(`AGENTPG_AGENT_RECOVERY must be 1 or 0 (true/false), not "${env.AGENTPG_AGENT_RECOVERY}"`);
  }
  const ownership: OwnershipOptions = {};
  for (const [name, option] of Object.entries(DURATIONS)) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    if (!/^\d+$/.test(raw.trim()) || Number(raw) <= 0) {
      throw new ConfigError(`${name} must be a positive integer (milliseconds or a count), not "${raw}"`);
    }
    ownership[option] = Number(raw);
  }
  if (ownership.clientLeaseMs !== undefined && ownership.serverLeaseMs === undefined) {
    ownership.serverLeaseMs = 2 * ownership.clientLeaseMs;
  }
  try {
    resolveOwnershipOptions(ownership);
  } catch (err) {
    const names = Object.entries(DURATIONS)
      .map(([name, option]) => `${option} = ${name}`)
      .join(', ');
    throw new ConfigError(`${(err as Error).message} (${names})`);
  }
  return { recovery: ['1', 'true', 'on', 'yes'].includes(recoveryRaw), ownership };
}
