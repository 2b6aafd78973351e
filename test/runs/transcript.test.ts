import { describe, expect, it } from 'vitest';
import type { StoredMessage } from '../../src/runs/types.js';
import type { ToolCallRow } from '../../src/runs/sql/toolCalls.js';
import { rebuildTranscript } from '../../src/runs/transcript.js';
import { assertValidTranscript } from './helpers.js';

let seq = 0;
const msg = (runId: string, role: 'user' | 'assistant', content: any[]): StoredMessage => ({
  id: `m${++seq}`,
  seq,
  runId,
  role,
  content,
  stopReason: null,
  inputTokens: 0,
  outputTokens: 0,
  createdAt: new Date(),
});
const text = (t: string) => ({ type: 'text', text: t, citations: null });
const use = (id: string) => ({ type: 'tool_use', id, name: 'x', input: {}, caller: { type: 'direct' } });
const result = (id: string, content = 'ok') => ({ type: 'tool_result', tool_use_id: id, content });
/** A stored call of tool `x` with empty input, one attempt, no approval or question: `row` says the rest. */
const call = (
  row: Pick<ToolCallRow, 'id' | 'messageId' | 'toolUseId' | 'state'> & Partial<ToolCallRow>,
): ToolCallRow => ({
  toolName: 'x',
  input: {},
  output: null,
  isError: false,
  attempts: 1,
  approval: null,
  decisionMessage: null,
  approvedInput: null,
  question: null,
  ...row,
});

describe('rebuildTranscript', () => {
  it('strips response-only fields and keeps a clean conversation as is', () => {
    const t = rebuildTranscript([msg('r1', 'user', [text('hi')]), msg('r1', 'assistant', [text('hello')])], 'r2', []);
    expect(t.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'hello' }] },
    ]);
    expect(t.openTurn).toBeNull();
  });

  it("reports this run's unanswered tool turn as open (its calls still to run or to collect)", () => {
    const stored = [
      msg('r1', 'user', [text('go')]),
      msg('r1', 'assistant', [text('using tools'), use('t1'), use('t2')]),
    ];
    const t = rebuildTranscript(stored, 'r1', []);
    expect(t.openTurn).toEqual({
      messageId: stored[1].id,
      toolUses: [
        { id: 't1', name: 'x', input: {} },
        { id: 't2', name: 'x', input: {} },
      ],
    });
    expect(t.messages.at(-1)).toEqual({
      role: 'assistant',
      content: [
        { type: 'text', text: 'using tools' },
        { type: 'tool_use', id: 't1', name: 'x', input: {} },
        { type: 'tool_use', id: 't2', name: 'x', input: {} },
      ],
    });
  });

  it('answers an older run left mid-turn (from its stored results, else an error) and merges the next prompt', () => {
    const assistant = msg('r1', 'assistant', [use('t1'), use('t2')]);
    const stored = [msg('r1', 'user', [text('go')]), assistant, msg('r2', 'user', [text('next question')])];
    const calls = [
      call({ id: 'c1', messageId: assistant.id, toolUseId: 't1', state: 'succeeded', output: 'done' }),
      call({ id: 'c2', messageId: assistant.id, toolUseId: 't2', state: 'running' }),
    ];
    const t = rebuildTranscript(stored, 'r2', calls);
    expect(t.openTurn).toBeNull();
    expect(t.messages).toHaveLength(3);
    expect(t.messages[2]).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 't1', content: 'done' },
        { type: 'tool_result', tool_use_id: 't2', content: expect.stringMatching(/unavailable/), is_error: true },
        { type: 'text', text: 'next question' },
      ],
    });
    assertValidTranscript(t.messages as any);
  });

  it('merges consecutive user messages (a run that failed before any answer)', () => {
    const t = rebuildTranscript([msg('r1', 'user', [text('first')]), msg('r2', 'user', [text('second')])], 'r2', []);
    expect(t.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'first' },
          { type: 'text', text: 'second' },
        ],
      },
    ]);
  });

  it('keeps an answered tool turn untouched', () => {
    const stored = [
      msg('r1', 'user', [text('go')]),
      msg('r1', 'assistant', [use('t9')]),
      msg('r1', 'user', [result('t9')]),
      msg('r1', 'assistant', [text('fin')]),
    ];
    const t = rebuildTranscript(stored, 'r1', []);
    expect(t.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    assertValidTranscript(t.messages as any);
  });
});
