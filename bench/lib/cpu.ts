import fs from 'node:fs';

/** Clock ticks per second of /proc/PID/stat times (USER_HZ; 100 on every Linux build in use). */
const TICKS_PER_S = 100;

/** CPU seconds (user + system) a process has used so far; null when it is gone or not Linux. */
export function cpuSeconds(pid: number, withReapedChildren = false): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): utime = field 14, stime 15, cutime 16, cstime 17.
    const own = Number(f[11]) + Number(f[12]);
    const children = withReapedChildren ? Number(f[13]) + Number(f[14]) : 0;
    return (own + children) / TICKS_PER_S;
  } catch {
    return null;
  }
}

/** Parent pid of a process, or null. */
export function parentPid(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/**
 * CPU seconds of a PostgreSQL server: the postmaster, its reaped children (backends that exited)
 * and its live children. Needs the server on this machine (any backend's pid finds it).
 */
export function serverCpuSeconds(postmasterPid: number): number | null {
  const own = cpuSeconds(postmasterPid, true);
  if (own === null) return null;
  let total = own;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (parentPid(pid) === postmasterPid) total += cpuSeconds(pid) ?? 0;
  }
  return total;
}

/**
 * Where a benchmark side's CPU went: the worker process doing the side's work, the fake model
 * process, and PostgreSQL. PostgreSQL is the whole server's process tree (postmaster, backends,
 * WAL writer, checkpointer, autovacuum) when the server is the benchmark's own, else only the
 * backends connected to the side's database, read while they are alive (a shared server's other
 * databases are not counted; its background processes are not either).
 */
export interface CpuProbe {
  worker: number;
  model: number;
  /** The postmaster's pid (own server) or null (shared server: backends of `database` only). */
  postmaster: number | null;
  /** Backend pids of the database now, for a shared server. */
  backends: () => Promise<number[]>;
}

export interface CpuSnapshot {
  worker: number | null;
  model: number | null;
  /** Own server: the tree's total; shared server: seconds per backend pid. */
  postgres: number | Map<number, number> | null;
}

export async function cpuSnapshot(p: CpuProbe): Promise<CpuSnapshot> {
  let postgres: CpuSnapshot['postgres'];
  if (p.postmaster !== null) postgres = serverCpuSeconds(p.postmaster);
  else postgres = new Map((await p.backends()).map((pid) => [pid, cpuSeconds(pid) ?? 0]));
  return { worker: cpuSeconds(p.worker), model: cpuSeconds(p.model), postgres };
}

export interface CpuPerUnit {
  /** CPU milliseconds (user + system) per unit of work; null when a process could not be read. */
  instance: number | null;
  model: number | null;
  postgres: number | null;
  total: number | null;
}

/** CPU ms per unit between two snapshots of one probe (a backend new since `before` counts from 0). */
export function cpuMsPerUnit(before: CpuSnapshot, after: CpuSnapshot, units: number): CpuPerUnit {
  const per = (a: number | null, b: number | null) =>
    a === null || b === null || units <= 0 ? null : Math.round(((b - a) * 1000 * 100) / units) / 100;
  let postgres: number | null = null;
  if (typeof before.postgres === 'number' && typeof after.postgres === 'number')
    postgres = per(before.postgres, after.postgres);
  else if (before.postgres instanceof Map && after.postgres instanceof Map) {
    let s = 0;
    for (const [pid, v] of after.postgres) s += v - (before.postgres.get(pid) ?? 0);
    postgres = per(0, s);
  }
  const instance = per(before.worker, after.worker);
  const model = per(before.model, after.model);
  const total =
    instance === null || model === null || postgres === null
      ? null
      : Math.round((instance + model + postgres) * 100) / 100;
  return { instance, model, postgres, total };
}
