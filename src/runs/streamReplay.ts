import type { Queryable } from '../db/queryable.js';
import { listRunMessages } from './sql/sessions.js';
import { listToolCallsOfRuns } from './sql/toolCalls.js';
import type { Run, RunEvent } from './types.js';

/**
 * What `runs.stream(id, { replay: true })` shows of a run before its live events: the stored
 * turns (agentpg_messages of the run) as the events they were streamed as — each assistant
 * message's text as one `text_delta` and its `tool_call`s, followed by the `tool_result`s stored in
 * agentpg_tool_calls. Not stored, so not replayed: the text of the turn in progress that was
 * streamed before the subscription (the model call has not returned; the message does not exist).
 */
export interface Replay {
  events: RunEvent[];
  toolCalls: Set<string>;
  toolResults: Set<string>;
}

export async function readReplay(db: Queryable, run: Run): Promise<Replay> {
  const rows = await listRunMessages(db, run.sessionId, run.id);
  // Read after the messages: a result stored in between belongs to a tool_use already read, or to
  // one that is not (then it is left to the live stream, like the tool_use itself).
  const calls = (await listToolCallsOfRuns(db, [run.id])).get(run.id) ?? [];
  const finished = new Map(
    calls.filter((c) => c.state === 'succeeded' || c.state === 'failed').map((c) => [c.toolUseId, c]),
  );
  const replay: Replay = { events: [], toolCalls: new Set(), toolResults: new Set() };
  for (const m of rows) {
    if (m.role !== 'assistant') continue;
    const text = m.content
      .filter((b) => b?.type === 'text')
      .map((b) => String(b.text ?? ''))
      .join('');
    if (text) replay.events.push({ type: 'text_delta', text });
    const uses = m.content.filter((b) => b?.type === 'tool_use');
    for (const u of uses) {
      replay.events.push({ type: 'tool_call', toolUseId: u.id, name: u.name, input: u.input });
      replay.toolCalls.add(u.id);
    }
    for (const u of uses) {
      const c = finished.get(u.id);
      if (!c) continue;
      replay.events.push({
        type: 'tool_result',
        toolUseId: u.id,
        name: c.toolName,
        isError: c.isError,
        output: c.output ?? '',
      });
      replay.toolResults.add(u.id);
    }
  }
  return replay;
}

/**
 * The live events that arrived between the subscription and the replay's read, minus what the
 * replay already shows: tool events it contains, and every text delta that came before the last of
 * those (that text belongs to a turn the replay shows whole: a turn's last deltas commit with its
 * message and tool calls). Text after it is the turn in progress, which the replay does not have.
 */
export function withoutReplayed(live: RunEvent[], replay: Replay): RunEvent[] {
  const duplicate = (e: RunEvent) =>
    (e.type === 'tool_call' && replay.toolCalls.has(e.toolUseId)) ||
    (e.type === 'tool_result' && replay.toolResults.has(e.toolUseId));
  let cut = -1;
  live.forEach((e, i) => {
    if (duplicate(e)) cut = i;
  });
  return live.filter((e, i) => !duplicate(e) && !(e.type === 'text_delta' && i < cut));
}
