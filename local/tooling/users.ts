/**
 * Local users: the auth.users row Supabase Auth would have made at sign-up
 * (email confirmed). The one way the tooling, the tests and the benchmark
 * create users, so they all look alike to the schema.
 */
import type { Sql } from 'postgres';

export interface LocalUser {
  id: string;
  email: string;
  /** False when a user with this email was there already. */
  created: boolean;
}

/**
 * The users with these emails (lower-cased), in the order given, each created
 * if missing: one statement however many, so the benchmark can make
 * thousands. An email is unique in auth.users (users_email_partial_key), so a
 * user created concurrently by someone else is read back, not duplicated.
 */
export async function ensureUsers(sql: Sql, emails: readonly string[]): Promise<LocalUser[]> {
  const normalized = emails.map((email) => email.trim().toLowerCase());
  const created = await sql<{ email: string }[]>`
    insert into auth.users
      (instance_id, id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated', email,
           now(), '{"provider": "email", "providers": ["email"]}', '{}', now(), now()
    from unnest(${normalized}::text[]) as email
    on conflict do nothing
    returning email
  `;
  const fresh = new Set(created.map((row) => row.email));
  const rows = await sql<{ id: string; email: string }[]>`
    select id, email from auth.users where email = any(${normalized}::text[])
  `;
  const ids = new Map(rows.map((row) => [row.email, row.id]));
  return normalized.map((email) => {
    const id = ids.get(email);
    if (!id) throw new Error(`could not create a user for ${email}`);
    return { id, email, created: fresh.has(email) };
  });
}

/** The user with this email, created if missing. */
export async function ensureUser(sql: Sql, email: string): Promise<LocalUser> {
  const [user] = await ensureUsers(sql, [email]);
  return user as LocalUser;
}
