import net from 'node:net';

/**
 * A minimal Redis (RESP2) client: enough for the seed-004 baseline lock (`SET key v NX PX ms`,
 * refresh, delete). Hand-written so the benchmark needs no extra dependency; commands are
 * pipelined and answered in order.
 */
export type RedisReply = string | number | null | RedisReply[] | Error;

export interface RedisClient {
  command(...args: Array<string | number>): Promise<RedisReply>;
  close(): Promise<void>;
}

export async function connectRedis(
  options: { host?: string; port?: number; timeoutMs?: number } = {},
): Promise<RedisClient> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 6379;
  const socket = net.connect(port, host);
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis at ${host}:${port} did not answer within ${options.timeoutMs ?? 1000} ms`));
    }, options.timeoutMs ?? 1000);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  const pending: Array<{ resolve: (r: RedisReply) => void; reject: (e: Error) => void }> = [];
  let buffer = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    for (;;) {
      const parsed = parseReply(buffer, 0);
      if (!parsed) break;
      buffer = buffer.subarray(parsed.next);
      const waiter = pending.shift();
      waiter?.resolve(parsed.value);
    }
  });
  const failAll = (err: Error) => {
    for (const w of pending.splice(0)) w.reject(err);
  };
  socket.on('error', failAll);
  socket.on('close', () => failAll(new Error('redis connection closed')));
  return {
    command(...args) {
      return new Promise((resolve, reject) => {
        pending.push({ resolve, reject });
        socket.write(encodeCommand(args));
      });
    },
    async close() {
      await new Promise<void>((resolve) => socket.end(() => resolve()));
      socket.destroy();
    },
  };
}

export function encodeCommand(args: ReadonlyArray<string | number>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Parses one reply starting at `at`; null when the buffer does not hold a whole reply yet. */
export function parseReply(buf: Buffer, at: number): { value: RedisReply; next: number } | null {
  if (at >= buf.length) return null;
  const lineEnd = buf.indexOf('\r\n', at);
  if (lineEnd < 0) return null;
  const type = String.fromCharCode(buf[at]);
  const line = buf.toString('utf8', at + 1, lineEnd);
  const after = lineEnd + 2;
  switch (type) {
    case '+':
      return { value: line, next: after };
    case '-':
      return { value: new Error(line), next: after };
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, next: after };
      if (buf.length < after + len + 2) return null;
      return { value: buf.toString('utf8', after, after + len), next: after + len + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      const items: RedisReply[] = [];
      let pos = after;
      for (let i = 0; i < n; i++) {
        const item = parseReply(buf, pos);
        if (!item) return null;
        items.push(item.value);
        pos = item.next;
      }
      return { value: items, next: pos };
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}

/** True when a Redis server answers PING at host:port. */
export async function redisAvailable(options: { host?: string; port?: number } = {}): Promise<boolean> {
  try {
    const c = await connectRedis({ ...options, timeoutMs: 500 });
    const pong = await c.command('PING');
    await c.close();
    return pong === 'PONG';
  } catch {
    return false;
  }
}
