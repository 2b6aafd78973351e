import { describe, expect, it } from 'vitest';
import { encodeCommand, parseReply } from '../../bench/lib/redis.js';

describe('RESP encoding of the Redis baseline client', () => {
  it('encodes a command as an array of bulk strings', () => {
    expect(encodeCommand(['SET', 'k', 'v', 'NX', 'PX', 30000]).toString()).toBe(
      '*6\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nNX\r\n$2\r\nPX\r\n$5\r\n30000\r\n',
    );
  });

  it('parses every reply type and waits for incomplete ones', () => {
    expect(parseReply(Buffer.from('+OK\r\n'), 0)).toEqual({ value: 'OK', next: 5 });
    expect(parseReply(Buffer.from('$-1\r\n'), 0)).toEqual({ value: null, next: 5 });
    expect(parseReply(Buffer.from(':42\r\n'), 0)).toEqual({ value: 42, next: 5 });
    expect(parseReply(Buffer.from('$5\r\nhello\r\n'), 0)).toEqual({ value: 'hello', next: 11 });
    expect(parseReply(Buffer.from('*2\r\n$1\r\na\r\n:1\r\n'), 0)).toEqual({ value: ['a', 1], next: 15 });
    const err = parseReply(Buffer.from('-ERR wrong\r\n'), 0);
    expect(err?.value).toBeInstanceOf(Error);
    expect(parseReply(Buffer.from('$5\r\nhel'), 0)).toBeNull();
    expect(parseReply(Buffer.from('*2\r\n$1\r\na\r\n'), 0)).toBeNull();
    expect(parseReply(Buffer.from('+OK'), 0)).toBeNull();
  });
});
