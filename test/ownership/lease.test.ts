import type { TcpProxy } from '../../src/testing/tcpProxy.js';
import { describe, expect, it } from 'vitest';
import { LockSession, type LossReason } from '../../src/ownership/lockSession.js';
import { LOCK_NAMESPACE, resolveOwnershipOptions } from '../../src/ownership/options.js';
import type { TestDatabase } from '../helpers/db.js';
import { test } from '../helpers/fixtures.js';
import { connect, sleep, waitFor } from './helpers.js';

/**
 * The lease inequality, measured on one lock session: heartbeat + client lease < server lease
 * means the holder declares the lock lost strictly before Postgres frees it, whatever the network
 * does (here: a proxy that stops forwarding and keeps both sockets open, which TCP never notices).
 */
describe('lock session leases', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  const options = resolveOwnershipOptions({ heartbeatIntervalMs: 200, clientLeaseMs: 1200, serverLeaseMs: 3000 });

  test.beforeAll(async ({ db: testDb, proxy: testProxy }) => {
    db = testDb;
    proxy = testProxy;
  });

  it('a cut-off holder gives up before the server frees its lock, and the server does free it', async () => {
    let lostAt = 0;
    let lostReason: LossReason | null = null;
    const session = await LockSession.open({
      connectionString: proxy.urlFor(db.url),
      applicationName: 'agentpg-lock:lease-test',
      options,
      onLost: (_s, reason) => {
        lostAt = Date.now();
        lostReason = reason;
      },
    });
    const {
      rows: [got],
    } = await session.query(`select pg_try_advisory_lock($1::int, 7) as got`, [LOCK_NAMESPACE]);
    expect(got.got).toBe(true);
    // Heartbeats keep it for longer than the server lease while the network is fine.
    await sleep(options.serverLeaseMs + 500);
    expect(session.lost).toBe(false);

    const observer = await connect(db.url);
    const tryLock = async () =>
      (await observer.query(`select pg_try_advisory_lock($1::int, 7) as got`, [LOCK_NAMESPACE])).rows[0].got as boolean;
    expect(await tryLock()).toBe(false);

    const frozenAt = Date.now();
    proxy.freeze();
    const freedAt = await waitFor(
      'the server frees the lock',
      async () => ((await tryLock()) ? Date.now() : 0),
      15_000,
      20,
    );
    console.log(
      `[ownership] lease: holder gave up after ${lostAt - frozenAt} ms (${lostReason}), server freed the lock after ${freedAt - frozenAt} ms`,
    );
    expect(lostReason).toBe('lease_expired');
    expect(lostAt).toBeGreaterThan(0);
    expect(lostAt).toBeLessThan(freedAt);
    // The server lease is counted from the last heartbeat the server saw (<= one interval before the cut).
    expect(freedAt - frozenAt).toBeGreaterThanOrEqual(options.serverLeaseMs - options.heartbeatIntervalMs);
    proxy.thaw();
    await observer.end();
  });

  it('a terminated lock session is reported lost at once (error/end events)', async () => {
    let lostReason: LossReason | null = null;
    const session = await LockSession.open({
      connectionString: db.url,
      applicationName: 'agentpg-lock:terminate-test',
      options,
      onLost: (_s, reason) => {
        lostReason = reason;
      },
    });
    const t0 = Date.now();
    await db.query(`select pg_terminate_backend($1)`, [session.pid]);
    await waitFor('loss reported', () => lostReason, 5000, 5);
    expect(['connection_error', 'connection_ended']).toContain(lostReason);
    expect(Date.now() - t0).toBeLessThan(options.clientLeaseMs); // not by the lease: by the event
  });

  it('a lock session sets its server lease on itself only', async () => {
    const session = await LockSession.open({
      connectionString: db.url,
      applicationName: 'agentpg-lock:settings',
      options,
      onLost: () => {},
    });
    const {
      rows: [mine],
    } = await session.query(
      `select current_setting('idle_session_timeout') as idle, current_setting('tcp_user_timeout') as tcp`,
    );
    expect(mine).toEqual({ idle: '3s', tcp: '3000' }); // tcp_user_timeout shows in ms over TCP
    const [other] = await db.query(`select current_setting('idle_session_timeout') as idle`);
    expect(other.idle).toBe('0');
    await session.close();
  });
});
