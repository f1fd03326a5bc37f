/**
 * Who is calling. Asymmetric user tokens (ES256, RS256) are verified by
 * @supabase/server's verifyAuth against the JWKS, the check withSupabase
 * runs, used directly so that a request creates no supabase-js clients (the
 * handlers use Postgres directly) and so that a failure answers in this API's
 * error shape. Projects still on the legacy JWT secret sign with HS256, which
 * verifyAuth refuses: with SUPABASE_JWT_SECRET set, those are verified here
 * (jwt.ts), with that secret and for that algorithm only. Either way a user
 * token must then pass the same claim rules: a Supabase access token (aud and
 * role "authenticated", a uuid sub) with an exp, from the expected issuer.
 */
import { verifyAuth, verifyCredentials } from '@supabase/server/core';
import type { JwtClaims } from './db/as-user.ts';
import { HttpError } from './http/errors.ts';
import {
  bearerToken,
  checkUserClaims,
  expectedIssuers,
  importHs256Secret,
  isRejection,
  type JwtPayload,
  jwtHeader,
  MIN_JWT_SECRET_LENGTH,
  parseIssuers,
  type TokenRejection,
  verifyHs256,
} from './jwt.ts';

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

/** What verification needs, parsed once from the function's environment. */
export interface AuthEnv {
  url: string;
  jwks: { keys: Record<string, unknown>[] } | null;
  secretKeys: Record<string, string>;
  publishableKeys: Record<string, string>;
  /** SUPABASE_JWT_SECRET, the legacy shared secret: HS256 user tokens are verified with it alone. */
  jwtSecret?: string | null;
  /** SUPABASE_AUTH_ISSUER: the accepted `iss` values, instead of `${url}/auth/v1`. */
  authIssuers?: string[];
}

/** Bounds the memory of verified tokens; the oldest is forgotten first. */
const MAX_REMEMBERED_TOKENS = 10_000;

function unauthorized(message: string, reason: string): HttpError {
  return new HttpError(401, 'unauthorized', message, {
    details: { reason },
    headers: { 'www-authenticate': 'Bearer' },
  });
}

function refused(rejection: TokenRejection): HttpError {
  return unauthorized(rejection.message, rejection.reason);
}

const unsupportedAlgorithm = (message: string) => unauthorized(message, 'UNSUPPORTED_ALGORITHM');

export function createAuthenticator(env: AuthEnv): Authenticator {
  const { jwtSecret, authIssuers, ...libraryEnv } = env;
  // Only what is set overrides the library's own reading of the environment
  // (which also knows SUPABASE_JWKS_URL and the singular key variables).
  const overrides = Object.fromEntries(
    Object.entries(libraryEnv).filter(
      ([, value]) => value && (typeof value !== 'object' || Object.keys(value).length > 0),
    ),
  );
  const options = { env: overrides as never };
  const issuers = expectedIssuers(env.url, authIssuers);
  let hs256Key: Promise<CryptoKey> | undefined;

  /** verifyAuth's refusal as this API's 401, or its 500 (a misconfigured server) as is. */
  function fromLibrary(error: Error & { status: number; code: string }): Error {
    // With a JWT secret and no JWKS this server takes HS256 tokens only: the caller's problem.
    if (error.code === 'JWKS_NOT_CONFIGURED' && jwtSecret) {
      return unsupportedAlgorithm('Only HS256 tokens are accepted: no JWKS is configured.');
    }
    // Any other 500 from the library means this server is misconfigured: not the caller's fault.
    if (error.status >= 500) return error;
    return unauthorized(error.message.replace('[@supabase/server] ', ''), error.code);
  }

  /** The payload of a token verified by the one key its alg names; 401 otherwise. */
  async function verifiedPayload(req: Request, token: string): Promise<JwtPayload> {
    const alg = jwtHeader(token)?.alg;
    if (alg === 'HS256') {
      // Never against the JWKS: HS256 means the legacy secret or nothing.
      if (!jwtSecret) {
        throw unsupportedAlgorithm('HS256 tokens are not accepted: no JWT secret is configured.');
      }
      hs256Key ??= importHs256Secret(jwtSecret);
      const verified = await verifyHs256(token, await hs256Key);
      if (isRejection(verified)) throw refused(verified);
      return verified.payload;
    }
    // Never against the secret, and no other symmetric or unsigned token at all.
    if (typeof alg === 'string' && (/^hs/i.test(alg) || alg.toLowerCase() === 'none')) {
      throw unsupportedAlgorithm("The token's signing algorithm is not accepted.");
    }
    const { data, error } = await verifyCredentials(
      { token, apikey: req.headers.get('apikey') },
      { ...options, auth: 'user', audience: 'authenticated' },
    );
    if (error) throw fromLibrary(error);
    return (data.jwtClaims ?? {}) as JwtPayload;
  }

  // A client sends the same access token with every request until it expires,
  // so a verified token is remembered (by its full text, signature included)
  // until its exp: the signature check then runs once per token, not per request.
  const verified = new Map<string, { user: AuthenticatedUser; expiresAtMs: number }>();
  return {
    async user(req) {
      const authorization = req.headers.get('authorization');
      const token = bearerToken(authorization);
      if (!token) {
        // No Bearer credential: verifyAuth names what is missing or wrong.
        const { error } = await verifyAuth(req, { ...options, auth: 'user' });
        throw error
          ? fromLibrary(error)
          : unauthorized('A Bearer token is required.', 'MISSING_CREDENTIALS');
      }
      const remembered = verified.get(token);
      if (remembered && remembered.expiresAtMs > Date.now()) return remembered.user;
      if (remembered) verified.delete(token);
      const claims = await verifiedPayload(req, token);
      const checked = checkUserClaims(claims, { issuers, now: Math.floor(Date.now() / 1000) });
      if (isRejection(checked)) throw refused(checked);
      const user: AuthenticatedUser = {
        userId: checked.userId,
        claims: { ...claims, role: 'authenticated', sub: checked.userId },
      };
      if (verified.size >= MAX_REMEMBERED_TOKENS) {
        verified.delete(verified.keys().next().value as string);
      }
      verified.set(token, { user, expiresAtMs: (claims.exp as number) * 1000 });
      return user;
    },
    async secret(req) {
      const { error } = await verifyAuth(req, { ...options, auth: 'secret:*' });
      if (error) throw fromLibrary(error);
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

/**
 * AuthEnv from the variables Supabase gives every function, and the two
 * optional ones. Hosted Supabase refuses secrets named SUPABASE_* (`supabase
 * secrets set` and the dashboard reserve the prefix), so each optional one
 * also has a name a project can set: LEGACY_JWT_SECRET and AUTH_ISSUER.
 */
export function authEnvFrom(env: Record<string, string | undefined>): AuthEnv {
  const secretName = env.SUPABASE_JWT_SECRET?.trim() ? 'SUPABASE_JWT_SECRET' : 'LEGACY_JWT_SECRET';
  const jwtSecret = env[secretName]?.trim() || null;
  if (jwtSecret && jwtSecret.length < MIN_JWT_SECRET_LENGTH) {
    throw new Error(`${secretName} must be at least ${MIN_JWT_SECRET_LENGTH} characters`);
  }
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
    jwtSecret,
    authIssuers: parseIssuers(env.SUPABASE_AUTH_ISSUER || env.AUTH_ISSUER),
  };
}
