import type { ChannelEventType, EventMap } from './types.js';

type Raw = Record<string, unknown>;

const str = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  // A nested object (never sent by our triggers) keeps its content rather than becoming '[object Object]'.
  return typeof v === 'object'
    ? JSON.stringify(v)
    : typeof v === 'string'
      ? v
      : typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint'
        ? String(v)
        : null;
};
/** Accepts snake_case (what the SQL triggers send) and camelCase keys. */
const pick = (raw: Raw, snake: string, camel: string): unknown => (snake in raw ? raw[snake] : raw[camel]);

/**
 * Turns a NOTIFY payload (JSON text from a trigger) into a typed event; null when it is not JSON
 * or lacks the id. Tolerant of extra keys, so triggers can add fields without breaking clients.
 */
export function parsePayload<T extends ChannelEventType>(type: T, payload: string): EventMap[T] | null {
  let raw: Raw;
  try {
    raw = JSON.parse(payload) as Raw;
  } catch {
    return null;
  }
  if (!raw || typeof raw !== 'object') return null;
  switch (type) {
    case 'run_state_changed': {
      const runId = str(pick(raw, 'run_id', 'runId') ?? raw.id);
      const state = str(raw.state);
      if (!runId || !state) return null;
      return {
        type,
        runId,
        sessionId: str(pick(raw, 'session_id', 'sessionId')),
        agentName: str(pick(raw, 'agent_name', 'agentName')),
        tenantId: str(pick(raw, 'tenant_id', 'tenantId')),
        state,
        previousState: str(pick(raw, 'previous_state', 'previousState')),
        instanceId: str(pick(raw, 'instance_id', 'instanceId')),
        parentRunId: str(pick(raw, 'parent_run_id', 'parentRunId')),
        depth: Number(raw.depth ?? 0),
        catchUp: false,
      } as EventMap[T];
    }
    case 'instance_registered':
    case 'instance_deregistered': {
      const instanceId = str(pick(raw, 'instance_id', 'instanceId'));
      if (!instanceId) return null;
      const base = { instanceId, hostname: str(raw.hostname) };
      return (
        type === 'instance_registered'
          ? { type, ...base, pid: raw.pid == null ? null : Number(raw.pid) }
          : { type, ...base }
      ) as EventMap[T];
    }
    case 'ownership_changed': {
      const agentId = str(pick(raw, 'agent_id', 'agentId'));
      if (!agentId) return null;
      return {
        type,
        agentId,
        kind: str(raw.kind),
        ownerInstanceId: str(pick(raw, 'owner_instance_id', 'ownerInstanceId')),
        previousOwnerInstanceId: str(pick(raw, 'previous_owner_instance_id', 'previousOwnerInstanceId')),
        epoch: Number(raw.epoch ?? 0),
      } as EventMap[T];
    }
    default:
      return null;
  }
}
