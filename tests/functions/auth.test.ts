/**
 * User-token verification: exp required, the issuer checked, the Bearer
 * scheme in any case, HS256 with the legacy JWT secret (and only with it),
 * and the algorithm-confusion tokens an attacker would try. Real ES256 keys,
 * tokens signed with jose; through the authenticator, then through a coach
 * handler on a real database.
 */
import { createPublicKey, randomBytes, randomUUID } from 'node:crypto';
import { importJWK, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MockLlm, startMockLlm } from '../../local/mock-llm.ts';
import { platformEnv } from '../../local/tooling/keys.ts';
import {
  type AuthEnv,
  authEnvFrom,
  createAuthenticator,
} from '../../supabase/functions/_shared/auth.ts';
import { aiCoach } from '../../supabase/functions/_shared/coach/kinds/ai-coach.ts';
import { HttpError } from '../../supabase/functions/_shared/http/errors.ts';
import { bearerToken, expectedIssuers } from '../../supabase/functions/_shared/jwt.ts';
import { coachFixture, post } from '../support/coach-fixture.ts';
import { insertUser } from '../support/rows.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import {
  badTokens,
  createKeys,
  LOCAL_AUTH_ISSUER,
  type LocalKeys,
  signLegacyUserToken,
  signUserToken,
} from '../support/tokens.ts';

const API_URL = 'http://127.0.0.1:54321';
const JWT_SECRET = randomBytes(32).toString('base64url');

let keys: LocalKeys;
const sub = randomUUID();

beforeAll(async () => {
  keys = await createKeys();
});

function authenticator(env: Record<string, string> = {}, url = API_URL) {
  return createAuthenticator(authEnvFrom({ ...platformEnv(keys, url, 'unused'), ...env }));
}

/** The environment of a project on the legacy secret only: no JWKS anywhere. */
function legacyOnly(env: Record<string, string> = {}) {
  const { SUPABASE_JWKS: _jwks, ...rest } = platformEnv(keys, 'http://kong:8000', 'unused');
  return createAuthenticator(authEnvFrom({ ...rest, SUPABASE_JWT_SECRET: JWT_SECRET, ...env }));
}

function request(authorization: string): Request {
  return new Request(`${API_URL}/functions/v1/ai-coach`, { headers: { authorization } });
}

type Outcome = { status: 200; userId: string } | { status: number; reason: unknown };

/** What the authenticator makes of a token: the user, or the refusal's status and reason. */
async function outcome(
  auth: ReturnType<typeof createAuthenticator>,
  token: string,
  scheme = 'Bearer ',
): Promise<Outcome> {
  try {
    return { status: 200, userId: (await auth.user(request(`${scheme}${token}`))).userId };
  } catch (error) {
    if (!(error instanceof HttpError)) {
      return { status: (error as { status?: number }).status ?? 500, reason: String(error) };
    }
    expect(error.headers['www-authenticate']).toBe('Bearer');
    return { status: error.status, reason: (error.details as { reason?: unknown }).reason };
  }
}

const refused = (reason: string) => ({ status: 401, reason });

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A user token's claims; `undefined` leaves a claim out. */
function userClaims(overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  const claims: JWTPayload = {
    sub,
    role: 'authenticated',
    aud: 'authenticated',
    iss: LOCAL_AUTH_ISSUER,
    iat: now,
    exp: now + 3600,
    ...overrides,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return claims;
}

async function es256(overrides: JWTPayload = {}): Promise<string> {
  return new SignJWT(userClaims(overrides))
    .setProtectedHeader({ alg: 'ES256', kid: keys.privateJwk.kid, typ: 'JWT' })
    .sign(await importJWK(keys.privateJwk, 'ES256'));
}

function hmac(
  secret: string,
  overrides: JWTPayload = {},
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
): Promise<string> {
  return new SignJWT(userClaims(overrides))
    .setProtectedHeader(header as { alg: string })
    .sign(new TextEncoder().encode(secret));
}

describe('exp and iss on asymmetric (JWKS) tokens', () => {
  it('accepts a Supabase access token from the project issuer', async () => {
    expect(await outcome(authenticator(), await signUserToken(keys, { sub }))).toEqual({
      status: 200,
      userId: sub,
    });
  });

  it('refuses a correctly signed token without exp', async () => {
    expect(await outcome(authenticator(), await es256({ exp: undefined }))).toEqual(
      refused('MISSING_EXP'),
    );
  });

  it('refuses another issuer, or none, and normalises trailing slashes', async () => {
    const auth = authenticator();
    expect(await outcome(auth, await es256({ iss: 'https://attacker.example/auth/v1' }))).toEqual(
      refused('WRONG_ISSUER'),
    );
    expect(await outcome(auth, await es256({ iss: undefined }))).toEqual(refused('WRONG_ISSUER'));
    expect(await outcome(auth, await es256({ iss: `${API_URL}/auth/v1/x` }))).toEqual(
      refused('WRONG_ISSUER'),
    );
    expect(await outcome(auth, await es256({ iss: `${LOCAL_AUTH_ISSUER}/` }))).toMatchObject({
      status: 200,
    });
    expect(await outcome(authenticator({}, `${API_URL}//`), await es256())).toMatchObject({
      status: 200,
    });
  });

  it('takes SUPABASE_AUTH_ISSUER (a list) instead of the URL', async () => {
    const auth = authenticator(
      { SUPABASE_AUTH_ISSUER: ` https://auth.example.com/auth/v1/ ,${LOCAL_AUTH_ISSUER}` },
      'https://ref.supabase.co',
    );
    expect(await outcome(auth, await es256())).toMatchObject({ status: 200 });
    expect(
      await outcome(auth, await es256({ iss: 'https://auth.example.com/auth/v1' })),
    ).toMatchObject({ status: 200 });
    expect(await outcome(auth, await es256({ iss: 'https://ref.supabase.co/auth/v1' }))).toEqual(
      refused('WRONG_ISSUER'),
    );
  });

  it('skips the issuer check behind the Docker gateway (kong) unless SUPABASE_AUTH_ISSUER is set', async () => {
    const kong = authenticator({}, 'http://kong:8000');
    expect(await outcome(kong, await es256())).toMatchObject({ status: 200 });
    expect(await outcome(kong, await es256({ iss: 'http://kong:8000/auth/v1' }))).toMatchObject({
      status: 200,
    });
    expect(await outcome(kong, await es256({ exp: undefined }))).toEqual(refused('MISSING_EXP'));
    const pinned = authenticator({ SUPABASE_AUTH_ISSUER: LOCAL_AUTH_ISSUER }, 'http://kong:8000');
    expect(await outcome(pinned, await es256())).toMatchObject({ status: 200 });
    expect(await outcome(pinned, await es256({ iss: 'http://kong:8000/auth/v1' }))).toEqual(
      refused('WRONG_ISSUER'),
    );
  });

  it('derives the expected issuers', () => {
    expect(expectedIssuers('https://ref.supabase.co/')).toEqual([
      'https://ref.supabase.co/auth/v1',
    ]);
    expect(expectedIssuers('http://kong:8000')).toBeNull();
    expect(expectedIssuers('')).toBeNull();
    expect(expectedIssuers('http://kong:8000', ['https://a/auth/v1/', ' '])).toEqual([
      'https://a/auth/v1',
    ]);
    // Not a URL: still compared, so every token is refused rather than none checked.
    expect(expectedIssuers('not a url')).toEqual(['not a url/auth/v1']);
  });
});

describe('the Bearer scheme', () => {
  it('is read in any case, with one or more spaces before the token', async () => {
    const auth = authenticator();
    const token = await signUserToken(keys, { sub });
    for (const scheme of ['bearer ', 'BEARER ', 'bEaReR ', 'Bearer   ']) {
      expect(await outcome(auth, token, scheme), scheme).toEqual({ status: 200, userId: sub });
    }
    expect(bearerToken(`bearer ${token}`)).toBe(token);
    expect(bearerToken(`Bearer ${token} extra`)).toBeNull();
    expect(bearerToken(`Bearer${token}`)).toBeNull();
    expect(bearerToken(`Basic ${token}`)).toBeNull();
  });

  it('still refuses other schemes and an empty Bearer', async () => {
    const auth = authenticator();
    const token = await signUserToken(keys, { sub });
    expect(await outcome(auth, token, 'Basic ')).toMatchObject({ status: 401 });
    expect(await outcome(auth, '', 'bearer')).toMatchObject({ status: 401 });
    expect(await outcome(auth, token, '')).toMatchObject({ status: 401 });
  });
});

describe('HS256 with the legacy JWT secret', () => {
  it('verifies an HS256 user token with SUPABASE_JWT_SECRET', async () => {
    const auth = authenticator({ SUPABASE_JWT_SECRET: JWT_SECRET });
    const token = await signLegacyUserToken(JWT_SECRET, { sub, email: 'legacy@example.com' });
    const user = await auth.user(request(`Bearer ${token}`));
    expect(user).toMatchObject({
      userId: sub,
      claims: { sub, role: 'authenticated', email: 'legacy@example.com' },
    });
    // And the ES256 tokens of the same project still pass beside it.
    expect(await outcome(auth, await signUserToken(keys, { sub }))).toMatchObject({ status: 200 });
  });

  it('takes the secret as LEGACY_JWT_SECRET, a name hosted Supabase lets a project set', async () => {
    const auth = authenticator({ LEGACY_JWT_SECRET: JWT_SECRET });
    expect(await outcome(auth, await hmac(JWT_SECRET))).toEqual({ status: 200, userId: sub });
    expect(() => authenticator({ LEGACY_JWT_SECRET: 'short' })).toThrow(/LEGACY_JWT_SECRET/);
  });

  it('works with the secret and no JWKS at all, and refuses asymmetric tokens there with 401', async () => {
    const auth = legacyOnly();
    expect(await outcome(auth, await hmac(JWT_SECRET))).toEqual({ status: 200, userId: sub });
    expect(await outcome(auth, await signUserToken(keys, { sub }))).toEqual(
      refused('UNSUPPORTED_ALGORITHM'),
    );
    for (const garbage of ['hello', 'a b', 'sb_publishable_x']) {
      expect(await outcome(auth, garbage), garbage).toMatchObject({ status: 401 });
    }
  });

  it('is refused when no secret is set, as before', async () => {
    expect(await outcome(authenticator(), await hmac(JWT_SECRET))).toEqual(
      refused('UNSUPPORTED_ALGORITHM'),
    );
  });

  it('refuses a wrong secret, a tampered payload and a bad signature', async () => {
    const auth = authenticator({ SUPABASE_JWT_SECRET: JWT_SECRET });
    const other = randomBytes(32).toString('base64url');
    expect(await outcome(auth, await hmac(other))).toEqual(refused('INVALID_JWT'));
    const [header, , signature] = (await hmac(JWT_SECRET)).split('.');
    const forged = base64url(userClaims({ sub: randomUUID() }));
    expect(await outcome(auth, `${header}.${forged}.${signature}`)).toEqual(refused('INVALID_JWT'));
    expect(await outcome(auth, `${header}.${forged}.`)).toEqual(refused('INVALID_JWT'));
    expect(await outcome(auth, `${header}.${forged}.${signature}x`)).toEqual(
      refused('INVALID_JWT'),
    );
  });

  it('applies the same claim rules as the JWKS path', async () => {
    const auth = authenticator({ SUPABASE_JWT_SECRET: JWT_SECRET });
    const now = Math.floor(Date.now() / 1000);
    const cases: [JWTPayload, string][] = [
      [{ exp: undefined }, 'MISSING_EXP'],
      [{ exp: String(now + 3600) as never }, 'MISSING_EXP'],
      [{ exp: now - 1 }, 'INVALID_JWT'],
      [{ exp: now }, 'INVALID_JWT'],
      [{ nbf: now + 60 }, 'INVALID_JWT'],
      [{ aud: 'somebody-else' }, 'INVALID_JWT'],
      [{ aud: undefined }, 'INVALID_JWT'],
      [{ iss: 'https://attacker.example/auth/v1' }, 'WRONG_ISSUER'],
      [{ role: 'anon' }, 'NOT_A_USER_TOKEN'],
      [{ role: 'service_role' }, 'NOT_A_USER_TOKEN'],
      [{ sub: 'not-a-uuid' }, 'NOT_A_USER_TOKEN'],
      [{ sub: undefined }, 'NOT_A_USER_TOKEN'],
    ];
    for (const [overrides, reason] of cases) {
      expect(await outcome(auth, await hmac(JWT_SECRET, overrides)), reason).toEqual(
        refused(reason),
      );
    }
    expect(
      await outcome(auth, await hmac(JWT_SECRET, { aud: ['authenticated', 'x'], nbf: now })),
    ).toMatchObject({ status: 200 });
  });

  it('refuses a critical header extension it does not understand', async () => {
    const auth = authenticator({ SUPABASE_JWT_SECRET: JWT_SECRET });
    const header = base64url({ alg: 'HS256', typ: 'JWT', crit: ['exp'], exp: 1 });
    const payload = base64url(userClaims());
    const key = await crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(JWT_SECRET),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    const mac = await crypto.subtle.sign(
      'HMAC',
      key,
      new TextEncoder().encode(`${header}.${payload}`),
    );
    const token = `${header}.${payload}.${Buffer.from(mac).toString('base64url')}`;
    expect(await outcome(auth, token)).toEqual(refused('INVALID_JWT'));
  });

  it('refuses a secret shorter than 32 characters at startup', () => {
    expect(() => authEnvFrom({ SUPABASE_JWT_SECRET: 'short' })).toThrow(/SUPABASE_JWT_SECRET/);
    expect(authEnvFrom({ SUPABASE_JWT_SECRET: '  ' })).toMatchObject<Partial<AuthEnv>>({
      jwtSecret: null,
    });
  });
});

describe('algorithm confusion', () => {
  it('never verifies an HS256 token with the public key material', async () => {
    const publicJwk = keys.publicJwks.keys[0] as Record<string, string>;
    const pem = createPublicKey({ key: publicJwk, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const materials = [
      JSON.stringify(publicJwk),
      JSON.stringify(keys.publicJwks),
      pem,
      publicJwk.x as string,
    ];
    for (const auth of [authenticator(), authenticator({ SUPABASE_JWT_SECRET: JWT_SECRET })]) {
      for (const material of materials) {
        for (const header of [
          { alg: 'HS256', typ: 'JWT' },
          { alg: 'HS256', typ: 'JWT', kid: keys.privateJwk.kid },
        ]) {
          expect(await outcome(auth, await hmac(material, {}, header))).toMatchObject({
            status: 401,
          });
        }
      }
    }
  });

  it('refuses alg none and the other HMAC algorithms, even with the secret', async () => {
    const unsigned = (header: Record<string, unknown>) =>
      `${base64url(header)}.${base64url(userClaims())}.`;
    for (const auth of [
      authenticator(),
      authenticator({ SUPABASE_JWT_SECRET: JWT_SECRET }),
      legacyOnly(),
    ]) {
      for (const alg of ['none', 'None', 'NONE']) {
        expect(await outcome(auth, unsigned({ alg, typ: 'JWT' })), alg).toMatchObject({
          status: 401,
        });
        expect(
          await outcome(auth, unsigned({ alg, typ: 'JWT', kid: keys.privateJwk.kid })),
          alg,
        ).toMatchObject({ status: 401 });
      }
      for (const alg of ['HS384', 'HS512']) {
        expect(await outcome(auth, await hmac(JWT_SECRET, {}, { alg, typ: 'JWT' })), alg).toEqual(
          refused('UNSUPPORTED_ALGORITHM'),
        );
      }
      // An ES256 signature under a header that claims HS256.
      const [, payload, signature] = (await es256()).split('.');
      const relabelled = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${payload}.${signature}`;
      expect(await outcome(auth, relabelled)).toMatchObject({ status: 401 });
    }
  });

  it('refuses every bad token, with or without a secret configured', async () => {
    for (const auth of [authenticator(), authenticator({ SUPABASE_JWT_SECRET: JWT_SECRET })]) {
      for (const [name, bad] of Object.entries(await badTokens(keys, sub))) {
        expect(await outcome(auth, bad), name).toMatchObject({ status: 401 });
      }
    }
  });

  it('keeps a server with neither JWKS nor secret a 500, not the caller’s fault', async () => {
    const { SUPABASE_JWKS: _jwks, ...rest } = platformEnv(keys, 'http://kong:8000', 'unused');
    const auth = createAuthenticator(authEnvFrom(rest));
    expect(await outcome(auth, await es256())).toMatchObject({ status: 500 });
  });
});

describe('through a coach handler', () => {
  let db: TestDatabase;
  let mock: MockLlm;

  beforeAll(async () => {
    db = await createTestDatabase();
    mock = await startMockLlm();
  });
  afterAll(async () => {
    await mock?.stop();
    await db?.drop();
  });

  it('answers HS256 and lower-case bearer requests, and refuses a token without exp as 401 JSON', async () => {
    const fx = await coachFixture({
      sql: db.sql,
      mock,
      env: { SUPABASE_JWT_SECRET: JWT_SECRET },
    });
    const coach = fx.handler(aiCoach);
    const user = await insertUser(db.sql);

    const legacy = await signLegacyUserToken(JWT_SECRET, { sub: user.id });
    const viaSecret = await coach(post('ai-coach', { message: 'hi' }, legacy));
    expect(viaSecret.status).toBe(200);
    const lowerCase = await coach(
      post('ai-coach', { message: 'hi again' }, undefined, {
        authorization: `bearer ${await fx.token(user.id)}`,
      }),
    );
    expect(lowerCase.status).toBe(200);
    const [stored] = await db.sql`
      select count(*)::int as n from public.ai_coach_messages
      where user_id = ${user.id} and role = 'user'
    `;
    expect(stored?.n).toBe(2);

    const now = Math.floor(Date.now() / 1000);
    const noExp = await new SignJWT({ role: 'authenticated' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.id)
      .setAudience('authenticated')
      .setIssuer(LOCAL_AUTH_ISSUER)
      .setIssuedAt(now)
      .sign(new TextEncoder().encode(JWT_SECRET));
    const refusedRes = await coach(post('ai-coach', { message: 'hi' }, noExp));
    expect(refusedRes.status).toBe(401);
    expect(refusedRes.headers.get('www-authenticate')).toBe('Bearer');
    expect(await refusedRes.json()).toMatchObject({
      error: { code: 'unauthorized', details: { reason: 'MISSING_EXP' } },
    });
    await fx.settle();
  });
});
