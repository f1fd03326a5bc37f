/** Local users: the auth.users row Supabase Auth would have made at sign-up. */
import { randomUUID } from 'node:crypto';
import type { Sql } from 'postgres';

/** The user with this email, created if missing. */
export async function ensureUser(
  sql: Sql,
  email: string,
): Promise<{ id: string; created: boolean }> {
  const normalized = email.trim().toLowerCase();
  const [existing] = await sql<
    { id: string }[]
  >`select id from auth.users where email = ${normalized}`;
  if (existing) return { id: existing.id, created: false };
  const [row] = await sql<{ id: string }[]>`
    insert into auth.users
      (instance_id, id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    values ('00000000-0000-0000-0000-000000000000', ${randomUUID()}, 'authenticated', 'authenticated', ${normalized},
            now(), '{"provider": "email", "providers": ["email"]}', '{}', now(), now())
    on conflict do nothing
    returning id
  `;
  if (row) return { id: row.id, created: true };
  // Created concurrently by someone else: read it back.
  const [raced] = await sql<
    { id: string }[]
  >`select id from auth.users where email = ${normalized}`;
  if (!raced) throw new Error(`could not create a user for ${normalized}`);
  return { id: raced.id, created: false };
}
