/**
 * The local stack's credentials, made once and kept in .local/keys
 * (gitignored): an ES256 signing key (its public half is the JWKS the
 * functions verify against) and a secret and a publishable API key in
 * Supabase's sb_secret_ / sb_publishable_ format.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { localStateDir } from './project.ts';

export interface LocalKeys {
  privateJwk: JWK;
  publicJwks: { keys: JWK[] };
  secretKey: string;
  publishableKey: string;
}

export const keysFile = join(localStateDir, 'keys', 'local-keys.json');

export async function createKeys(): Promise<LocalKeys> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
  const publicJwk = {
    ...(await exportJWK(publicKey)),
    kid,
    alg: 'ES256',
    use: 'sig',
    key_ops: ['verify'],
  };
  return {
    privateJwk,
    publicJwks: { keys: [publicJwk] },
    secretKey: `sb_secret_${randomBytes(24).toString('base64url')}`,
    publishableKey: `sb_publishable_${randomBytes(24).toString('base64url')}`,
  };
}

/** The keys in .local/keys, created on first use. */
export async function loadOrCreateKeys(file = keysFile): Promise<LocalKeys> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as LocalKeys;
  } catch {
    const keys = await createKeys();
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
    return keys;
  }
}

export interface UserTokenClaims {
  sub: string;
  email?: string;
  ttlSeconds?: number;
  issuer?: string;
}

/** The issuer (`iss`) of the local stack's tokens: its API URL (`npm start`) plus /auth/v1. */
export const LOCAL_AUTH_ISSUER = 'http://127.0.0.1:54321/auth/v1';

function userTokenClaims(claims: UserTokenClaims): SignJWT {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    role: 'authenticated',
    email: claims.email,
    aal: 'aal1',
    session_id: randomUUID(),
    is_anonymous: false,
    app_metadata: { provider: 'email', providers: ['email'] },
    user_metadata: {},
  })
    .setSubject(claims.sub)
    .setAudience('authenticated')
    .setIssuer(claims.issuer ?? LOCAL_AUTH_ISSUER)
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.ttlSeconds ?? 3600));
}

/** A user access token shaped like Supabase Auth's: aud and role `authenticated`. */
export async function signUserToken(keys: LocalKeys, claims: UserTokenClaims): Promise<string> {
  const key = await importJWK(keys.privateJwk, 'ES256');
  return userTokenClaims(claims)
    .setProtectedHeader({ alg: 'ES256', kid: keys.privateJwk.kid, typ: 'JWT' })
    .sign(key);
}

/**
 * The same token as a project on the legacy JWT secret issues it: HS256 over
 * the secret's text, no kid. Verified only where SUPABASE_JWT_SECRET is set.
 */
export function signLegacyUserToken(jwtSecret: string, claims: UserTokenClaims): Promise<string> {
  return userTokenClaims(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(jwtSecret));
}

/** The variables Supabase gives every function, for a stack at `apiUrl` on `databaseUrl`. */
export function platformEnv(
  keys: LocalKeys,
  apiUrl: string,
  databaseUrl: string,
): Record<string, string> {
  return {
    SUPABASE_URL: apiUrl,
    SUPABASE_DB_URL: databaseUrl,
    // The shell's DATABASE_URL names the scripts' target, not a pooler: the functions use the one above.
    DATABASE_URL: '',
    SUPABASE_JWKS: JSON.stringify(keys.publicJwks),
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: keys.secretKey }),
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: keys.publishableKey }),
  };
}
