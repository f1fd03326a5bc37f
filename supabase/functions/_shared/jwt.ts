/**
 * The parts of user-token checking that @supabase/server's verifyAuth does
 * not do, as pure functions over WebCrypto (Deno and Node alike): reading the
 * Bearer credential in any case, HS256 with the legacy JWT secret, and the
 * claim rules every user token must pass (exp required, iss, aud, role, sub).
 * A refusal is a `TokenRejection`; auth.ts turns it into the 401.
 */

export interface TokenRejection {
  reason: string;
  message: string;
}

export type JwtPayload = Record<string, unknown>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** RFC 7518 §3.2: an HS256 key must have at least 256 bits; Supabase asks for 32 characters. */
export const MIN_JWT_SECRET_LENGTH = 32;

const encoder = new TextEncoder();

/**
 * The token of `Authorization: Bearer <token>`. The scheme is
 * case-insensitive and may be followed by one or more spaces (RFC 9110
 * §11.1, §11.4); the token itself (token68) has no spaces. Null when the
 * header is absent or not a Bearer credential.
 */
export function bearerToken(authorization: string | null): string | null {
  const match = /^bearer +([^\s]+) *$/i.exec(authorization ?? '');
  return match?.[1] ?? null;
}

function decodeBase64url(segment: string): Uint8Array<ArrayBuffer> | null {
  if (!BASE64URL.test(segment) || segment.length % 4 === 1) return null;
  const binary = atob(segment.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function decodeJsonObject(segment: string): JwtPayload | null {
  const bytes = decodeBase64url(segment);
  if (!bytes) return null;
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as JwtPayload)
      : null;
  } catch {
    return null;
  }
}

/** The decoded JOSE header of a compact JWS, or null when it is not one. */
export function jwtHeader(token: string): JwtPayload | null {
  const segments = token.split('.');
  return segments.length === 3 && segments[0] ? decodeJsonObject(segments[0]) : null;
}

/**
 * The legacy JWT secret as an HMAC-SHA256 key that can only verify. The
 * secret's text is the key (Supabase Auth signs with its UTF-8 bytes).
 */
export function importHs256Secret(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  );
}

const badSignature: TokenRejection = {
  reason: 'INVALID_JWT',
  message: 'The token is malformed or its signature does not verify.',
};

/**
 * The payload of an HS256 token whose signature verifies with `key`. The
 * caller has routed on the header's alg being exactly HS256; this checks it
 * again so the key is never used for another algorithm. crypto.subtle.verify
 * compares the MACs in constant time.
 */
export async function verifyHs256(
  token: string,
  key: CryptoKey,
): Promise<{ payload: JwtPayload } | TokenRejection> {
  const [header, payload, signature, ...rest] = token.split('.');
  if (header === undefined || payload === undefined || signature === undefined || rest.length) {
    return badSignature;
  }
  const joseHeader = decodeJsonObject(header);
  // No `crit` extension is understood here, so a token that requires one is refused (RFC 7515 §4.1.11).
  if (joseHeader?.alg !== 'HS256' || joseHeader.crit !== undefined) return badSignature;
  const mac = decodeBase64url(signature);
  if (mac?.length !== 32) return badSignature;
  const verified = await crypto.subtle.verify(
    'HMAC',
    key,
    mac,
    encoder.encode(`${header}.${payload}`),
  );
  if (!verified) return badSignature;
  const claims = decodeJsonObject(payload);
  return claims ? { payload: claims } : badSignature;
}

function stripTrailingSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * The `iss` values a user token may carry, or null when the issuer is not
 * known and the check is skipped. SUPABASE_AUTH_ISSUER (a comma-separated
 * list) wins; otherwise it is the project's auth URL, `${SUPABASE_URL}/auth/v1`.
 * Under `supabase functions serve` (Docker) SUPABASE_URL is the internal
 * gateway `http://kong:8000` while tokens name the public URL
 * (`http://127.0.0.1:54321/auth/v1`), so a `kong` host says nothing about the
 * issuer: the check is skipped there unless SUPABASE_AUTH_ISSUER is set.
 */
export function expectedIssuers(supabaseUrl: string, configured: string[] = []): string[] | null {
  const issuers = configured.map((issuer) => stripTrailingSlashes(issuer.trim())).filter(Boolean);
  if (issuers.length) return issuers;
  if (!supabaseUrl.trim()) return null;
  let host = '';
  try {
    host = new URL(supabaseUrl.trim()).hostname;
  } catch {
    // Not a URL: still compared (and then refused), so a typo fails closed.
  }
  if (host === 'kong') return null;
  return [`${stripTrailingSlashes(supabaseUrl.trim())}/auth/v1`];
}

/** SUPABASE_AUTH_ISSUER: one issuer or a comma-separated list; empty entries are dropped. */
export function parseIssuers(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((issuer) => stripTrailingSlashes(issuer.trim()))
    .filter(Boolean);
}

export interface ClaimRules {
  /** Accepted `iss` values (trailing slashes normalised); null skips the check. */
  issuers: string[] | null;
  /** Seconds since the epoch. */
  now: number;
}

function hasAudience(aud: unknown, audience: string): boolean {
  return aud === audience || (Array.isArray(aud) && aud.includes(audience));
}

/**
 * The rules every user token passes after its signature, whichever key
 * verified it: exp present and in the future, nbf (if any) passed, aud and
 * role `authenticated`, a uuid sub, and the expected issuer. As jose (which
 * verifyAuth uses) does, there is no clock tolerance: exp <= now is expired.
 */
export function checkUserClaims(
  claims: JwtPayload,
  rules: ClaimRules,
): { userId: string } | TokenRejection {
  const { exp, nbf, iat, iss, aud, role, sub } = claims;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    return { reason: 'MISSING_EXP', message: 'The token has no expiry (exp claim).' };
  }
  if (exp <= rules.now) return { reason: 'INVALID_JWT', message: 'The token has expired.' };
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > rules.now)) {
    return { reason: 'INVALID_JWT', message: 'The token is not valid yet (nbf claim).' };
  }
  if (iat !== undefined && typeof iat !== 'number') {
    return { reason: 'INVALID_JWT', message: 'The token has a malformed iat claim.' };
  }
  if (!hasAudience(aud, 'authenticated')) {
    return { reason: 'INVALID_JWT', message: 'The token is not for this audience (aud claim).' };
  }
  if (rules.issuers) {
    const issuer = typeof iss === 'string' ? stripTrailingSlashes(iss) : null;
    if (issuer === null || !rules.issuers.includes(issuer)) {
      return { reason: 'WRONG_ISSUER', message: 'The token was not issued by this project.' };
    }
  }
  if (role !== 'authenticated' || typeof sub !== 'string' || !UUID.test(sub)) {
    return { reason: 'NOT_A_USER_TOKEN', message: 'A signed-in user token is required.' };
  }
  return { userId: sub };
}

export function isRejection(value: object): value is TokenRejection {
  return 'reason' in value;
}
