import net from 'node:net';

/**
 * A userland TCP proxy between a client process and Postgres, used to cut a process off from the
 * database without killing either side. `freeze()` stops forwarding in both directions while
 * leaving every socket open (no FIN, no RST), like a network partition: TCP keepalive never fires
 * because the proxy's own sockets stay healthy, so only application-level leases can notice.
 * `thaw()` resumes forwarding, and what either side wrote meanwhile is delivered late — which is
 * exactly how a stale owner's queued writes reach the server after a partition heals.
 */
export interface TcpProxy {
  /** The port clients connect to (127.0.0.1). */
  readonly port: number;
  readonly frozen: boolean;
  /** Live client connections. */
  readonly connections: number;
  /**
   * Stop forwarding; new connections are accepted but not connected upstream until thaw(), and a
   * side that closes meanwhile is closed on the other side only at thaw().
   */
  freeze(): void;
  /** Resume forwarding, flushing everything buffered while frozen. */
  thaw(): void;
  /** Destroy every connection (both sides see a reset), keep listening. */
  cutAll(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }, options: { port?: number } = {}): Promise<TcpProxy> {
  let frozen = false;
  const pairs = new Set<Pair>();

  interface Pair {
    client: net.Socket;
    upstream: net.Socket | null;
    // Bytes held while frozen, per direction, in order.
    toUpstream: Buffer[];
    toClient: Buffer[];
    // One side closed during a freeze: the other side must not learn it before thaw().
    closePending: boolean;
  }

  const connectUpstream = (pair: Pair) => {
    const upstream = net.connect(target.port, target.host);
    pair.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('data', (chunk) => {
      if (frozen) pair.toClient.push(chunk);
      else if (!pair.closePending) pair.client.write(chunk);
    });
    const end = () => closeSide(pair);
    upstream.on('error', end);
    upstream.on('close', end);
    flush(pair);
  };

  const flush = (pair: Pair) => {
    if (pair.upstream) for (const b of pair.toUpstream.splice(0)) pair.upstream.write(b);
    for (const b of pair.toClient.splice(0)) pair.client.write(b);
  };

  // A close on either side reaches the other side only while not frozen: in a real partition the
  // FIN/RST of a process that gave up on its connection never reaches the server, which keeps the
  // session (and its advisory locks) until its own timeouts end it.
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
    client.setNoDelay(true);
    const pair: Pair = { client, upstream: null, toUpstream: [], toClient: [], closePending: false };
    pairs.add(pair);
    client.on('data', (chunk) => {
      if (frozen || !pair.upstream) pair.toUpstream.push(chunk);
      else if (!pair.closePending) pair.upstream.write(chunk);
    });
    const end = () => closeSide(pair);
    client.on('error', end);
    client.on('close', end);
    // A connection attempt during a partition must hang, not fail fast.
    if (!frozen) connectUpstream(pair);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    get frozen() {
      return frozen;
    },
    get connections() {
      return pairs.size;
    },
    freeze() {
      frozen = true;
    },
    thaw() {
      if (!frozen) return;
      frozen = false;
      for (const pair of [...pairs]) {
        if (pair.closePending) destroyPair(pair);
        else if (!pair.upstream) connectUpstream(pair);
        else flush(pair);
      }
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
