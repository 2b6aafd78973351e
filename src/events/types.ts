import {
  INSTANCE_DEREGISTERED_CHANNEL,
  INSTANCE_REGISTERED_CHANNEL,
  OWNERSHIP_CHANGED_CHANNEL,
  RUN_STATE_CHANNEL,
} from './channels.js';

/**
 * Cluster events, delivered through `client.events.subscribe(type, fn)` (LISTEN/NOTIFY, src/events).
 * Every event carries ids and states only: never prompts, outputs, metadata or secrets.
 */
export const EVENT_CHANNELS = {
  run_state_changed: RUN_STATE_CHANNEL,
  instance_registered: INSTANCE_REGISTERED_CHANNEL,
  instance_deregistered: INSTANCE_DEREGISTERED_CHANNEL,
  // There is no leader to announce, but long-running agents have owners: their changes are events.
  ownership_changed: OWNERSHIP_CHANGED_CHANNEL,
} as const;

export type ChannelEventType = keyof typeof EVENT_CHANNELS;
export type EventType = ChannelEventType | 'resync';

export interface RunStateChangedEvent {
  type: 'run_state_changed';
  runId: string;
  sessionId: string | null;
  agentName: string | null;
  tenantId: string | null;
  state: string;
  /** Null for a new run, and for an event re-read after a reconnect (catchUp). */
  previousState: string | null;
  instanceId: string | null;
  /** Agents as tools: the run whose tool call started this one; null for a root run. */
  parentRunId: string | null;
  /** 0 for a root run, the parent's depth + 1 for a child. */
  depth: number;
  /**
   * True when the event was re-read from agentpg_runs after the LISTEN connection came back: it
   * reports the run's CURRENT state, intermediate transitions are not replayed, and it may repeat
   * an event delivered just before the connection was lost.
   */
  catchUp: boolean;
}

export interface InstanceRegisteredEvent {
  type: 'instance_registered';
  instanceId: string;
  hostname: string | null;
  pid: number | null;
}

export interface InstanceDeregisteredEvent {
  type: 'instance_deregistered';
  instanceId: string;
  hostname: string | null;
}

export interface OwnershipChangedEvent {
  type: 'ownership_changed';
  agentId: string;
  kind: string | null;
  /** Null when the agent was released or freed and awaits a new owner. */
  ownerInstanceId: string | null;
  previousOwnerInstanceId: string | null;
  epoch: number;
}

/**
 * The LISTEN connection was lost and is back: notifications sent meanwhile may be missing. Run
 * state changes since `since` have been re-delivered as catchUp events when `runsCaughtUp` is
 * true; everything else (instances, ownership) must be re-read from the tables by the subscriber.
 */
export interface ResyncEvent {
  type: 'resync';
  since: Date | null;
  reconnects: number;
  /** How many run_state_changed catch-up events were delivered before this one. */
  caughtUpRuns: number;
  /** False when the catch-up query failed or was truncated: re-read the runs too. */
  runsCaughtUp: boolean;
}

export interface EventMap {
  run_state_changed: RunStateChangedEvent;
  instance_registered: InstanceRegisteredEvent;
  instance_deregistered: InstanceDeregisteredEvent;
  ownership_changed: OwnershipChangedEvent;
  resync: ResyncEvent;
}

export type AgentPGEvent = EventMap[EventType];
export type EventHandler<T extends EventType> = (event: EventMap[T]) => void;
