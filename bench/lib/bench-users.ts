/**
 * The benchmark's users: bench-1@example.com, bench-2@example.com, ..., one
 * per concurrent client where a part wants each client to be its own user
 * (as concurrent callers are in production: no one user's rows are fought
 * over by every client).
 *
 * Where the database has per-user budgets (public.plans), they are put on a
 * plan of their own with limits no run reaches, finite so that every check
 * of the reservation still runs, so a long run is never refused for its
 * budget.
 */
import { connect } from '../../local/tooling/connect.ts';
import { ensureUsers } from '../../local/tooling/users.ts';

export const BENCH_PLAN = 'bench';

export async function benchUsers(databaseUrl: string, count: number): Promise<string[]> {
  const sql = connect(databaseUrl);
  try {
    const emails = Array.from({ length: count }, (_, i) => `bench-${i + 1}@example.com`);
    const ids = (await ensureUsers(sql, emails)).map((user) => user.id);
    const [budgets] = await sql<{ present: boolean }[]>`
      select to_regclass('public.plans') is not null as present
    `;
    if (budgets?.present) {
      await sql`
        insert into public.plans (name, tokens_per_day, cost_usd_per_day, cost_usd_per_month, unpriced_models)
        values (${BENCH_PLAN}, 1000000000000, 10000000, 10000000, 'tokens_only')
        on conflict (name) do update set
          tokens_per_day = excluded.tokens_per_day,
          cost_usd_per_day = excluded.cost_usd_per_day,
          cost_usd_per_month = excluded.cost_usd_per_month
      `;
      await sql`
        insert into public.user_settings (user_id, plan)
        select id, ${BENCH_PLAN} from unnest(${ids}::uuid[]) as id
        on conflict (user_id) do update set plan = excluded.plan
      `;
    }
    return ids;
  } finally {
    await sql.end();
  }
}
