import net from 'node:net';

/**
 * A userland TCP proxy for fault tests: put it between a process and PostgreSQL and cut that
 * process off without killing either side.
 *
 * - `freeze()`: a network partition. Nothing is forwarded in either direction, every socket stays
 *   open (no FIN, no RST), and a new connection is accepted but not dialled upstream. TCP keepalive
 *   never fires (the proxy's own sockets stay healthy), so only application-level leases notice.
 *   `thaw()` resumes forwarding and delivers what either side wrote meanwhile, late — exactly how a
 *   cut-off owner's queued writes reach the server after a partition heals. A side that closed
 *   during the freeze is closed on the other side only at `thaw()`.
 * - `stall()`: only the connections open now go silent (their bytes are dropped, as a dead route
 *   would); new connections work. A client that notices and reconnects gets through.
 * - `refuse()`: new connections are closed at once (the database is "down"); open ones are kept.
 * - `restore()`: undoes freeze and refuse. `cutAll()`: resets every open connection.
 */
export interface TcpProxy {
  /** The port clients connect to, on 127.0.0.1. */
  readonly port: number;
  readonly frozen: boolean;
  /** Open client connections. */
  readonly connections: number;
  /** `databaseUrl` with its host and port replaced by this proxy's. */
  urlFor(databaseUrl: string): string;
  freeze(): void;
  thaw(): void;
  stall(): void;
  refuse(): void;
  restore(): void;
  cutAll(): void;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket | null;
  /** Bytes held while frozen, per direction, in order. */
  toUpstream: Buffer[];
  toClient: Buffer[];
  /** One side closed during a freeze: the other side must not learn it before thaw(). */
  closePending: boolean;
  /** stall(): this connection drops everything from now on. */
  stalled: boolean;
}

/** `target` is a postgres:// URL or a host and port. */
export async function startTcpProxy(
  target: string | { host: string; port: number },
  options: { port?: number } = {},
): Promise<TcpProxy> {
  const to = typeof target === 'string' ? hostPortOf(target) : target;
  let frozen = false;
  let refusing = false;
  const pairs = new Set<Pair>();

  const forward = (pair: Pair, chunk: Buffer, held: Buffer[], dest: () => net.Socket | null) => {
    if (pair.stalled || pair.closePending) return;
    const socket = dest();
    if (frozen || !socket) held.push(chunk);
    else socket.write(chunk);
  };

  const connectUpstream = (pair: Pair) => {
    const upstream = net.connect(to.port, to.host);
    pair.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('data', (chunk) => forward(pair, chunk, pair.toClient, () => pair.client));
    upstream.on('error', () => closeSide(pair));
    upstream.on('close', () => closeSide(pair));
    flush(pair);
  };

  const flush = (pair: Pair) => {
    if (pair.upstream) for (const b of pair.toUpstream.splice(0)) pair.upstream.write(b);
    for (const b of pair.toClient.splice(0)) pair.client.write(b);
  };

  // In a real partition the FIN/RST of a process that gave up on its connection never reaches the
  // server, which keeps the session (and its advisory locks) until its own timeouts end it.
  const closeSide = (pair: Pair) => {
    if (frozen) pair.closePending = true;
    else destroyPair(pair);
  };

  const destroyPair = (pair: Pair) => {
    if (!pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream?.destroy();
  };

  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    client.setNoDelay(true);
    const pair: Pair = { client, upstream: null, toUpstream: [], toClient: [], closePending: false, stalled: false };
    pairs.add(pair);
    client.on('data', (chunk) => forward(pair, chunk, pair.toUpstream, () => pair.upstream));
    client.on('error', () => closeSide(pair));
    client.on('close', () => closeSide(pair));
    // A connection attempt during a partition must hang, not fail fast.
    if (!frozen) connectUpstream(pair);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  const thaw = () => {
    if (!frozen) return;
    frozen = false;
    for (const pair of [...pairs]) {
      if (pair.closePending) destroyPair(pair);
      else if (!pair.upstream) connectUpstream(pair);
      else flush(pair);
    }
  };

  return {
    port,
    get frozen() {
      return frozen;
    },
    get connections() {
      return pairs.size;
    },
    urlFor(databaseUrl: string) {
      const u = new URL(databaseUrl);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    freeze() {
      frozen = true;
    },
    thaw,
    stall() {
      for (const pair of pairs) pair.stalled = true;
    },
    refuse() {
      refusing = true;
    },
    restore() {
      refusing = false;
      thaw();
    },
    cutAll() {
      for (const pair of [...pairs]) destroyPair(pair);
    },
    async close() {
      for (const pair of [...pairs]) destroyPair(pair);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function hostPortOf(databaseUrl: string): { host: string; port: number } {
  const u = new URL(databaseUrl);
  return { host: u.hostname || '127.0.0.1', port: Number(u.port || 5432) };
}
