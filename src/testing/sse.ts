/**
 * Server-sent events encoding of a Messages API response, in the exact event sequence the real API
 * streams: message_start, (content_block_start, ping?, content_block_delta..., content_block_stop)
 * per block, message_delta, message_stop.
 */
import type Anthropic from '@anthropic-ai/sdk';

/** Characters per text_delta / input_json_delta chunk. */
export const SSE_CHUNK_CHARS = 12;

/** One SSE frame: `event: <type>\ndata: <json>\n\n`. */
export function sseFrame(type: string, data: unknown): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Splits a string into chunks of about `size` UTF-16 units without cutting a surrogate pair. */
export function chunkString(s: string, size = SSE_CHUNK_CHARS): string[] {
  if (s.length <= size) return [s];
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    let end = Math.min(i + size, s.length);
    const c = s.charCodeAt(end - 1);
    if (end < s.length && c >= 0xd800 && c <= 0xdbff) end++; // keep a high surrogate with its pair
    out.push(s.slice(i, end));
    i = end;
  }
  return out;
}

/** The SSE frames that stream `message`; concatenated they form the full response body. */
export function messageToSseFrames(message: Anthropic.Message): string[] {
  const { usage } = message;
  const frames: string[] = [];
  frames.push(
    sseFrame('message_start', {
      type: 'message_start',
      message: {
        ...message,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 1 },
      },
    }),
  );

  message.content.forEach((block, index) => {
    if (block.type === 'text') {
      frames.push(
        sseFrame('content_block_start', { type: 'content_block_start', index, content_block: { ...block, text: '' } }),
      );
      if (index === 0) frames.push(sseFrame('ping', { type: 'ping' }));
      for (const text of chunkString(block.text)) {
        frames.push(
          sseFrame('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text } }),
        );
      }
    } else if (block.type === 'tool_use') {
      frames.push(
        sseFrame('content_block_start', { type: 'content_block_start', index, content_block: { ...block, input: {} } }),
      );
      if (index === 0) frames.push(sseFrame('ping', { type: 'ping' }));
      for (const partial_json of chunkString(JSON.stringify(block.input))) {
        frames.push(
          sseFrame('content_block_delta', {
            type: 'content_block_delta',
            index,
            delta: { type: 'input_json_delta', partial_json },
          }),
        );
      }
    } else {
      throw new Error(`fake Anthropic: cannot stream a ${block.type} block`);
    }
    frames.push(sseFrame('content_block_stop', { type: 'content_block_stop', index }));
  });

  frames.push(
    sseFrame('message_delta', {
      type: 'message_delta',
      delta: {
        stop_reason: message.stop_reason,
        stop_sequence: message.stop_sequence,
        stop_details: message.stop_details,
        container: message.container,
      },
      usage: {
        input_tokens: usage.input_tokens,
        cache_creation_input_tokens: usage.cache_creation_input_tokens,
        cache_read_input_tokens: usage.cache_read_input_tokens,
        output_tokens: usage.output_tokens,
        output_tokens_details: usage.output_tokens_details,
        server_tool_use: usage.server_tool_use,
      },
    }),
  );
  frames.push(sseFrame('message_stop', { type: 'message_stop' }));
  return frames;
}
