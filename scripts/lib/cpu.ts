/**
 * CPU time of processes, from /proc (Linux), so the benchmark can say where a
 * request's CPU goes: the functions server, Postgres, the benchmark itself.
 * Elsewhere it reports null instead of guessing.
 */
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
