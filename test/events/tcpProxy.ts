import net from 'node:net';

/**
 * A TCP proxy in front of Postgres for connection-fault tests: `refuse()` makes new connections
 * fail at once (the database is "down"), `freeze()` stops forwarding bytes on the connections open
 * now while keeping their sockets open (a half-open connection, as a partition looks to the
 * client; new connections work), `restore()` accepts connections again.
 */
export interface TcpProxy {
  url: string;
  refuse(): void;
  freeze(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  let refusing = false;
  const sockets = new Set<net.Socket>();
  const frozen = new WeakSet<net.Socket>();
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    const pipe = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk) => {
        if (!frozen.has(from)) to.write(chunk);
        // Frozen: bytes are swallowed, as a dead network would.
      });
    pipe(client, upstream);
    pipe(upstream, client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    refuse: () => {
      refusing = true;
    },
    freeze: () => {
      for (const s of sockets) frozen.add(s);
    },
    restore: () => {
      refusing = false;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
