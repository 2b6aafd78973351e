import { describe, expect, it } from 'vitest';
import type { Queryable } from '../../src/db/queryable.js';
import { MAX_PAYLOAD_BYTES, StreamBuffer } from '../../src/runs/streamBuffer.js';

// A tool event over the NOTIFY payload limit is cut (whole characters) and marked truncated, so it
// still reaches runs.stream; text deltas are split instead. No statement is made: drain() only
// returns the payloads for the caller's transaction.
describe('StreamBuffer: tool events over the payload limit', () => {
  it('cuts a big tool_call input and tool_result output to fit, marked truncated', async () => {
    const buffer = new StreamBuffer('00000000-0000-0000-0000-000000000001', {} as Queryable);
    const output = 'é'.repeat(20_000);
    buffer.push({ type: 'tool_call', toolUseId: 'toolu_1', name: 'note', input: { text: 'ü'.repeat(20_000) } });
    buffer.push({ type: 'tool_result', toolUseId: 'toolu_1', name: 'note', isError: false, output });
    buffer.push({ type: 'tool_result', toolUseId: 'toolu_2', name: 'note', isError: false, output: 'small' });
    const payloads = await buffer.drain();
    expect(payloads).toHaveLength(3);
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    const [call, result, small] = payloads.map((p) => JSON.parse(p).e);
    expect(call).toMatchObject({ type: 'tool_call', truncated: true });
    expect(JSON.stringify({ text: 'ü'.repeat(20_000) }).startsWith(call.input)).toBe(true);
    expect(call.input.length).toBeGreaterThan(1000);
    expect(result).toMatchObject({ type: 'tool_result', truncated: true, isError: false });
    expect(output.startsWith(result.output)).toBe(true);
    expect(result.output.length).toBeGreaterThan(1000);
    expect(small).toEqual({ type: 'tool_result', toolUseId: 'toolu_2', name: 'note', isError: false, output: 'small' });
  });
});
