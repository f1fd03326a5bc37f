/** The rate-limiter part of `npm run bench`: public.check_rate_limit calls per second over a pool. */
import postgres from 'postgres';
import { connect } from '../local/tooling/connect.ts';
import { ensureUsers } from '../local/tooling/users.ts';

export interface LimiterBench {
  workers: number;
  pool: number;
  seconds: number;
  checksPerSecond: number;
}

export async function benchLimiter(
  databaseUrl: string,
  { workers = 32, pool = 16, seconds = 3 } = {},
): Promise<LimiterBench> {
  const db = connect(databaseUrl);
  const users = await ensureUsers(
    db,
    Array.from({ length: workers }, (_, i) => `bench-${i}@example.com`),
  );
  await db.end();
  const sql = postgres(databaseUrl, { max: pool, prepare: false, onnotice: () => {} });
  let checks = 0;
  const deadline = performance.now() + seconds * 1000;
  try {
    await Promise.all(
      users.map(async (user) => {
        while (performance.now() < deadline) {
          await sql`select request_count from public.check_rate_limit(${user.id}, 'bench', 60)`;
          checks += 1;
        }
      }),
    );
  } finally {
    await sql.end();
  }
  return { workers, pool, seconds, checksPerSecond: Math.round(checks / seconds) };
}
