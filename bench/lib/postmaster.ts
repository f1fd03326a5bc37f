/**
 * The Postgres server process (the postmaster) behind a database URL, for
 * charging the benchmark's requests with Postgres CPU: the parent of one of
 * its backends, when that runs on this machine.
 */
import { readFile } from 'node:fs/promises';
import { connect } from '../../local/tooling/connect.ts';
import { cpuMs, treeCpuMs } from './cpu.ts';

export async function postmasterPid(databaseUrl: string): Promise<number | null> {
  const sql = connect(databaseUrl);
  try {
    const [row] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
    if (!row) return null;
    const stat = await readFile(`/proc/${row.pid}/stat`, 'utf8');
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const command = (await readFile(`/proc/${parent}/comm`, 'utf8')).trim();
    return command === 'postgres' ? parent : null;
  } catch {
    // A server on another machine (DATABASE_URL), or no /proc.
    return null;
  } finally {
    await sql.end();
  }
}

/**
 * Reads the CPU ms the Postgres server has used so far: the postmaster and
 * all its backends, closed ones included; for a server found by no pid, every
 * postgres process of the machine (run the benchmark with no other cluster busy).
 */
export async function postgresCpuReader(
  databaseUrl: string,
): Promise<() => Promise<number | null>> {
  const pid = await postmasterPid(databaseUrl);
  return pid === null ? () => cpuMs({ command: 'postgres' }) : () => treeCpuMs(pid);
}
