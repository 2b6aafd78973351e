import net from 'node:net';
import { once } from 'node:events';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../../src/testing/tcpProxy.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';

/** Resolves with what arrived within `ms`, or null when nothing did. */
function nextData(socket: net.Socket, ms: number): Promise<string | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('data', onData);
      resolve(null);
    }, ms);
    const onData = (b: Buffer) => {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(b.toString());
    };
    socket.on('data', onData);
  });
}

describe('TCP proxy (echo server)', () => {
  let echo: net.Server;
  let proxy: TcpProxy;
  beforeAll(async () => {
    echo = net.createServer((s) => {
      s.on('error', () => {});
      s.on('data', (b) => s.write(b));
    });
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    proxy = await startTcpProxy({ host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port });
  });
  afterAll(async () => {
    echo.close();
  });

  it('forwards, holds everything while frozen without closing sockets, and delivers it on thaw', async () => {
    const s = net.connect(proxy.port, '127.0.0.1');
    await once(s, 'connect');
    let closed = false;
    s.on('close', () => (closed = true));
    s.write('a');
    expect(await nextData(s, 5000)).toBe('a');

    proxy.freeze();
    s.write('b');
    // A forwarding proxy echoes within a millisecond; a frozen one holds the byte.
    expect(await nextData(s, 300)).toBeNull();
    expect(closed).toBe(false);
    expect(proxy.connections).toBe(1);

    const late = nextData(s, 5000);
    proxy.thaw();
    expect(await late).toBe('b');
    s.destroy();
  });

  it('a connection opened during a freeze hangs until thaw, then works', async () => {
    proxy.freeze();
    const s = net.connect(proxy.port, '127.0.0.1');
    await once(s, 'connect'); // the proxy accepts; upstream is not dialled yet
    s.write('c');
    expect(await nextData(s, 300)).toBeNull();
    const late = nextData(s, 5000);
    proxy.thaw();
    expect(await late).toBe('c');
    s.destroy();
  });

  it('cutAll resets every connection', async () => {
    const s = net.connect(proxy.port, '127.0.0.1');
    await once(s, 'connect');
    s.on('error', () => {});
    const closed = once(s, 'close');
    proxy.cutAll();
    await closed;
    expect(proxy.connections).toBe(0);
  });

  it('stall() silences the connections open now, while a new connection gets through', async () => {
    const old = net.connect(proxy.port, '127.0.0.1');
    await once(old, 'connect');
    old.write('x');
    expect(await nextData(old, 5000)).toBe('x');
    proxy.stall();
    old.write('y');
    expect(await nextData(old, 300)).toBeNull();
    const fresh = net.connect(proxy.port, '127.0.0.1');
    await once(fresh, 'connect');
    fresh.write('z');
    expect(await nextData(fresh, 5000)).toBe('z');
    old.destroy();
    fresh.destroy();
  });

  it('refuse() closes new connections at once and restore() accepts them again', async () => {
    proxy.refuse();
    const refused = net.connect(proxy.port, '127.0.0.1');
    refused.on('error', () => {});
    await once(refused, 'close');
    proxy.restore();
    const s = net.connect(proxy.port, '127.0.0.1');
    await once(s, 'connect');
    s.write('ok');
    expect(await nextData(s, 5000)).toBe('ok');
    s.destroy();
  });
});

describe('TCP proxy in front of Postgres', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  test.beforeAll(async ({ db: testDb, proxy: testProxy }) => {
    db = testDb;
    proxy = testProxy;
  });

  it('a query during a freeze neither fails nor completes, and completes after thaw', async () => {
    const client = new pg.Client({ connectionString: proxy.urlFor(db.url) });
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    await client.connect();
    expect((await client.query('select 1 as x')).rows[0].x).toBe(1);

    proxy.freeze();
    let settled = false;
    const q = client.query('select 2 as x').finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 500));
    expect(settled).toBe(false);
    expect(errors).toEqual([]);

    proxy.thaw();
    expect((await q).rows[0].x).toBe(2);
    await client.end();
  });
});

describe('TCP proxy: closes during a freeze', () => {
  it('a client that gives up during a freeze is not seen by the server until thaw', async () => {
    let serverSawClose = false;
    const server = net.createServer((s) => {
      s.on('error', () => {});
      s.on('close', () => (serverSawClose = true));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
    try {
      const s = net.connect(proxy.port, '127.0.0.1');
      await once(s, 'connect');
      await new Promise((r) => setTimeout(r, 100)); // the proxy has dialled upstream
      proxy.freeze();
      s.destroy();
      await new Promise((r) => setTimeout(r, 300));
      expect(serverSawClose).toBe(false);
      proxy.thaw();
      for (let i = 0; i < 100 && !serverSawClose; i++) await new Promise((r) => setTimeout(r, 20));
      expect(serverSawClose).toBe(true);
    } finally {
      await proxy.close();
      server.close();
    }
  });
});
