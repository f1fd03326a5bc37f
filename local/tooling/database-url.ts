/**
 * Postgres connection URLs: which database a command targets, whether it is
 * local, and the variants the tools need.
 */

/** The address `supabase start` uses, so clients work against either stack unchanged. */
export const LOCAL_DATABASE_URL = 'postgresql://postgres:postgres@127.0.0.1:54322/postgres';

/** `DATABASE_URL` when set, otherwise the local stack's database. */
export function targetDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.DATABASE_URL?.trim();
  return fromEnv ? fromEnv : LOCAL_DATABASE_URL;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** True for loopback hosts and Unix sockets: databases a reset may wipe without --force. */
export function isLocalDatabaseUrl(url: string): boolean {
  const parsed = new URL(url);
  const socketHost = parsed.searchParams.get('host');
  if (socketHost?.startsWith('/')) return true;
  if (parsed.hostname === '') return true;
  return LOCAL_HOSTS.has(parsed.hostname);
}

export function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  return name === '' ? 'postgres' : name;
}

/** The same server and credentials, another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** For printing: the URL without its password. */
export function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/**
 * The URL as the Supabase CLI should get it. The CLI tries TLS first and warns
 * when it falls back; a loopback server has no TLS, so say so up front.
 */
export function supabaseCliUrl(url: string): string {
  const parsed = new URL(url);
  if (isLocalDatabaseUrl(url) && !parsed.searchParams.has('sslmode')) {
    parsed.searchParams.set('sslmode', 'disable');
  }
  return parsed.toString();
}
