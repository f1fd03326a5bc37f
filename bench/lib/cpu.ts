/**
 * CPU time of processes, from /proc (Linux), so the benchmark can say where a
 * request's CPU goes: the functions server, Postgres, the benchmark itself.
 * Elsewhere it reports null instead of guessing.
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

const TICKS_PER_SECOND = 100;

async function cpuMsOf(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const userTicks = Number(fields[11]);
    const systemTicks = Number(fields[12]);
    return ((userTicks + systemTicks) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

async function commandOf(pid: number): Promise<string | null> {
  try {
    return (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
  } catch {
    return null;
  }
}

/** CPU ms used so far by one process, or by every process with a given command name. */
export async function cpuMs(target: { pid: number } | { command: string }): Promise<number | null> {
  if ('pid' in target) return cpuMsOf(target.pid);
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return null;
  }
  let total = 0;
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    if ((await commandOf(pid)) !== target.command) continue;
    total += (await cpuMsOf(pid)) ?? 0;
  }
  return total;
}

// Read synchronously: a snapshot falls between loads, and the sync reads cost a tenth of the CPU.
function childrenOf(pid: number): number[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.split(' ').filter(Boolean).map(Number);
  } catch {
    return null;
  }
}

/** A process's own CPU ms and that of its children it has waited for (cutime, cstime). */
function ownAndReapedMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index]), 0);
    return (ticks * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/**
 * CPU ms used so far by a server and every process below it, those that have
 * exited included (their time is in the parent's cutime and cstime once it has
 * waited for them, as a postmaster does for its backends): unlike a sum over
 * the live processes, it does not drop when a connection closes. Null where
 * /proc has no children lists.
 */
export async function treeCpuMs(root: number): Promise<number | null> {
  const rootMs = ownAndReapedMs(root);
  const pending = childrenOf(root);
  if (rootMs === null || pending === null) return null;
  let total = rootMs;
  while (pending.length > 0) {
    const pid = pending.pop() as number;
    // A process gone since the list was read: its time is in its parent's by now, or soon.
    total += ownAndReapedMs(pid) ?? 0;
    pending.push(...(childrenOf(pid) ?? []));
  }
  return total;
}

/**
 * CPU ms every process of the machine has used so far (all cores), from
 * /proc/stat: less the benchmark's own processes, what something else took
 * meanwhile. Null where /proc is missing.
 */
export function machineBusyMs(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal ...: busy is all but idle and iowait.
    const [user, nice, system, , , irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const ticks = [user, nice, system, irq, softirq, steal].reduce<number>(
      (sum, t) => sum + (t ?? 0),
      0,
    );
    return (ticks * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}
