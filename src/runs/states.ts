// The states of runs and tool calls, apart from the drizzle schema that stores them: the public
// types (runs/types.ts) import these, and must not pull drizzle-orm's declarations into a
// consumer's program (they do not type-check with skipLibCheck: false).

/**
 * Run states. `queued` comes before pick-up; `awaiting_input` is a run suspended until a person
 * decides (tool approval) or answers
 * a tool's question (input request), holding no worker; the last three are terminal.
 */
export const RUN_STATES = ['queued', 'running', 'awaiting_input', 'completed', 'failed', 'cancelled'] as const;
export type RunState = (typeof RUN_STATES)[number];
export const TERMINAL_RUN_STATES = ['completed', 'failed', 'cancelled'] as const;

/** `awaiting_input`: the tool asked the user a question (requestInput) and waits for the answer. */
export const TOOL_CALL_STATES = ['pending', 'running', 'awaiting_input', 'succeeded', 'failed'] as const;
export type ToolCallState = (typeof TOOL_CALL_STATES)[number];
