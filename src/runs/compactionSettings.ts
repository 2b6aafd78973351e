import { ConfigError } from '../errors.js';
import type { AgentDefinition } from '../model/agent.js';
import type { AgentCompactionSettings, CompactionStrategy } from './compactionTypes.js';

export type CompactionSettings = Required<Omit<AgentCompactionSettings, 'model' | 'strategy'>> & {
  model: string;
  strategy: CompactionStrategy | null;
};

/** The defaults, documented in README "Long sessions". */
export const COMPACTION_DEFAULTS = {
  contextWindowTokens: 200_000,
  triggerFraction: 0.8,
  targetFraction: 0.5,
  keepLastMessages: 6,
  summaryMaxTokens: 2048,
  pruneToolOutputsOver: 2000,
} as const;

/** An agent's compaction settings with the defaults filled in; null when compaction is off. */
export function compactionSettingsOf(agent: AgentDefinition): CompactionSettings | null {
  const c = agent.compaction ?? true;
  if (c === false) return null;
  const s: AgentCompactionSettings = c === true ? {} : c;
  return {
    contextWindowTokens: s.contextWindowTokens ?? COMPACTION_DEFAULTS.contextWindowTokens,
    triggerFraction: s.triggerFraction ?? COMPACTION_DEFAULTS.triggerFraction,
    targetFraction: s.targetFraction ?? COMPACTION_DEFAULTS.targetFraction,
    keepLastMessages: s.keepLastMessages ?? COMPACTION_DEFAULTS.keepLastMessages,
    summaryMaxTokens: s.summaryMaxTokens ?? COMPACTION_DEFAULTS.summaryMaxTokens,
    pruneToolOutputsOver: s.pruneToolOutputsOver ?? COMPACTION_DEFAULTS.pruneToolOutputsOver,
    model: s.model ?? agent.model,
    strategy: s.strategy ?? null,
  };
}

const INTEGER_KEYS = ['contextWindowTokens', 'keepLastMessages', 'summaryMaxTokens', 'pruneToolOutputsOver'] as const;
const FRACTION_KEYS = ['triggerFraction', 'targetFraction'] as const;
const KEYS = new Set<string>([...INTEGER_KEYS, ...FRACTION_KEYS, 'model', 'strategy']);

/** Checked when the agent is registered: a typo or an impossible value is a ConfigError, not a surprise later. */
export function checkCompactionSettings(agent: AgentDefinition): void {
  const c = agent.compaction as unknown;
  if (c === undefined || typeof c === 'boolean') return;
  const bad = (what: string) => new ConfigError(`agent "${agent.name}": compaction${what}`);
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw bad(' must be true, false or an object');
  const s = c as Record<string, unknown>;
  for (const key of Object.keys(s)) if (!KEYS.has(key)) throw bad(`: unknown setting "${key}"`);
  for (const key of INTEGER_KEYS) {
    const v = s[key];
    if (v !== undefined && (!Number.isSafeInteger(v) || (v as number) < 1))
      throw bad(`.${key} must be a positive integer`);
  }
  for (const key of FRACTION_KEYS) {
    const v = s[key];
    if (v !== undefined && (typeof v !== 'number' || !(v > 0 && v <= 1)))
      throw bad(`.${key} must be a number in (0, 1]`);
  }
  const trigger = (s.triggerFraction as number | undefined) ?? COMPACTION_DEFAULTS.triggerFraction;
  const target = (s.targetFraction as number | undefined) ?? COMPACTION_DEFAULTS.targetFraction;
  if (target > trigger) throw bad(`.targetFraction (${target}) must not exceed triggerFraction (${trigger})`);
  if (s.model !== undefined && (typeof s.model !== 'string' || s.model === ''))
    throw bad('.model must be a model name');
  const st = s.strategy as Partial<CompactionStrategy> | undefined;
  if (st !== undefined && (typeof st !== 'object' || typeof st?.compact !== 'function' || typeof st.name !== 'string'))
    throw bad('.strategy must be { name, compact(input) }');
}
