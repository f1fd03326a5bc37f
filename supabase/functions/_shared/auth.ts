/**
 * Who is calling. Verification is @supabase/server's verifyAuth, the check
 * withSupabase runs, used directly so that a request creates no supabase-js
 * clients (the handlers use Postgres directly) and so that a failure answers
 * in this API's error shape. A user token must be a Supabase access token:
 * aud "authenticated", role "authenticated", a uuid sub.
 */
import { verifyAuth } from '@supabase/server/core';
import type { JwtClaims } from './db/as-user.ts';
import { HttpError } from './http/errors.ts';

export interface AuthenticatedUser {
  userId: string;
  claims: JwtClaims;
}

export interface Authenticator {
  /** The user of a request with a valid user JWT; 401 otherwise. */
  user(req: Request): Promise<AuthenticatedUser>;
  /** Passes for a request whose apikey is a configured secret key; 401 otherwise. */
  secret(req: Request): Promise<void>;
}

/** What verifyAuth needs, parsed once from the function's environment. */
export interface AuthEnv {
  url: string;
  jwks: { keys: Record<string, unknown>[] } | null;
  secretKeys: Record<string, string>;
  publishableKeys: Record<string, string>;
}

/** Bounds the memory of verified tokens; the oldest is forgotten first. */
const MAX_REMEMBERED_TOKENS = 10_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function unauthorized(message: string, reason: string): HttpError {
  return new HttpError(401, 'unauthorized', message, {
    details: { reason },
    headers: { 'www-authenticate': 'Bearer' },
  });
}

export function createAuthenticator(env: AuthEnv): Authenticator {
  // Only what is set overrides the library's own reading of the environment
  // (which also knows SUPABASE_JWKS_URL and the singular key variables).
  const overrides = Object.fromEntries(
    Object.entries(env).filter(
      ([, value]) => value && (typeof value !== 'object' || Object.keys(value).length > 0),
    ),
  );
  const options = { env: overrides as never };
  // A client sends the same access token with every request until it expires,
  // so a verified token is remembered (by its full text, signature included)
  // until its exp: the ES256 check then runs once per token, not per request.
  const verified = new Map<string, { user: AuthenticatedUser; expiresAtMs: number }>();
  return {
    async user(req) {
      const authorization = req.headers.get('authorization') ?? '';
      const remembered = verified.get(authorization);
      if (remembered && remembered.expiresAtMs > Date.now()) return remembered.user;
      if (remembered) verified.delete(authorization);
      const { data, error } = await verifyAuth(req, {
        ...options,
        auth: 'user',
        audience: 'authenticated',
      });
      if (error) {
        // A 500 from the library means this server is misconfigured (no JWKS): not the caller's fault.
        if (error.status >= 500) throw error;
        throw unauthorized(error.message.replace('[@supabase/server] ', ''), error.code);
      }
      const claims = data.jwtClaims;
      const sub = claims?.sub;
      if (claims?.role !== 'authenticated' || typeof sub !== 'string' || !UUID.test(sub)) {
        throw unauthorized('A signed-in user token is required.', 'NOT_A_USER_TOKEN');
      }
      const user: AuthenticatedUser = {
        userId: sub,
        claims: { ...claims, role: 'authenticated', sub },
      };
      if (typeof claims.exp === 'number') {
        if (verified.size >= MAX_REMEMBERED_TOKENS)
          verified.delete(verified.keys().next().value as string);
        verified.set(authorization, { user, expiresAtMs: claims.exp * 1000 });
      }
      return user;
    },
    async secret(req) {
      const { error } = await verifyAuth(req, { ...options, auth: 'secret:*' });
      if (error) {
        if (error.status >= 500) throw error;
        throw unauthorized(error.message.replace('[@supabase/server] ', ''), error.code);
      }
    },
  };
}

function parseJson<T>(name: string, text: string | undefined, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${name} is not valid JSON`);
  }
}

/** AuthEnv from the variables Supabase gives every function. */
export function authEnvFrom(env: Record<string, string | undefined>): AuthEnv {
  const jwks = parseJson<AuthEnv['jwks'] | Record<string, unknown>[]>(
    'SUPABASE_JWKS',
    env.SUPABASE_JWKS,
    null,
  );
  return {
    url: env.SUPABASE_URL ?? '',
    jwks: Array.isArray(jwks) ? { keys: jwks } : jwks,
    secretKeys: parseJson('SUPABASE_SECRET_KEYS', env.SUPABASE_SECRET_KEYS, {}),
    publishableKeys: parseJson('SUPABASE_PUBLISHABLE_KEYS', env.SUPABASE_PUBLISHABLE_KEYS, {}),
  };
}
