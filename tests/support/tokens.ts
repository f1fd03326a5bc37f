/**
 * Tokens for tests, signed like Supabase Auth's with a real ES256 key, plus
 * the bad ones an attacker or a broken client would send.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import {
  createKeys,
  LOCAL_AUTH_ISSUER,
  type LocalKeys,
  signLegacyUserToken,
  signUserToken,
} from '../../local/tooling/keys.ts';

export { createKeys, LOCAL_AUTH_ISSUER, type LocalKeys, signLegacyUserToken, signUserToken };

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * Tokens that must all be refused with 401 by functions that verify against
 * `keys` and expect `issuer`, with or without a JWT secret configured.
 */
export async function badTokens(
  keys: LocalKeys,
  sub: string,
  issuer = LOCAL_AUTH_ISSUER,
): Promise<Record<string, string>> {
  const stranger = await createKeys();
  const now = Math.floor(Date.now() / 1000);
  const privateKey = await importJWK(keys.privateJwk, 'ES256');
  const signed = (claims: Record<string, unknown>, aud = 'authenticated') =>
    new SignJWT({ role: 'authenticated', ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: keys.privateJwk.kid, typ: 'JWT' })
      .setSubject(sub)
      .setAudience(aud)
      .setIssuer(issuer)
      .setIssuedAt(now - 7200)
      .setExpirationTime((claims.exp as number | undefined) ?? now + 3600)
      .sign(privateKey);
  const valid = await signUserToken(keys, { sub, issuer });
  const [header, payload] = valid.split('.');
  return {
    expired: await signed({ exp: now - 60 }),
    forgedSignature: await signUserToken(
      { ...stranger, privateJwk: { ...stranger.privateJwk, kid: keys.privateJwk.kid } },
      { sub, issuer },
    ),
    unknownKey: await signUserToken(stranger, { sub, issuer }),
    algNone: `${base64url({ alg: 'none', typ: 'JWT' })}.${payload}.`,
    tamperedPayload: `${header}.${base64url({ sub: randomUUID(), role: 'authenticated', aud: 'authenticated', exp: now + 3600 })}.${valid.split('.')[2]}`,
    wrongAudience: await signed({}, 'somebody-else'),
    anonRole: await signed({ role: 'anon' }),
    notAJwt: 'hello',
    noExp: await new SignJWT({ role: 'authenticated' })
      .setProtectedHeader({ alg: 'ES256', kid: keys.privateJwk.kid, typ: 'JWT' })
      .setSubject(sub)
      .setAudience('authenticated')
      .setIssuer(issuer)
      .setIssuedAt(now)
      .sign(privateKey),
    wrongIssuer: await signUserToken(keys, { sub, issuer: 'https://attacker.example/auth/v1' }),
    // HS256 is verified with the configured legacy secret only, never with anything else.
    unknownSecret: await signLegacyUserToken(randomBytes(32).toString('base64url'), {
      sub,
      issuer,
    }),
    publicKeyAsSecret: await signLegacyUserToken(JSON.stringify(keys.publicJwks.keys[0]), {
      sub,
      issuer,
    }),
  };
}
