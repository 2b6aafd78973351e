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
