/**
 * `npm run token -- <email> [--ttl <seconds>]`: a signed user JWT for the
 * local stack, like the access token Supabase Auth issues at sign-in (aud and
 * role `authenticated`, sub = the user's id, an hour by default). Creates the
 * auth.users row when missing. The token alone goes to stdout:
 *
 *   TOKEN=$(npm run -s token -- a@example.com)
 */
import { z } from 'zod';
import { ensureLocalPostgres } from '../local/postgres/embedded.ts';
import { connect } from '../local/tooling/connect.ts';
import { LOCAL_DATABASE_URL, targetDatabaseUrl } from '../local/tooling/database-url.ts';
import { loadOrCreateKeys, signUserToken } from '../local/tooling/keys.ts';
import { runMain, StepError } from '../local/tooling/step.ts';
import { ensureUser } from '../local/tooling/users.ts';

const ArgsSchema = z.object({
  email: z.email(),
  ttlSeconds: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600),
});

function parseArgs(argv: string[]): z.infer<typeof ArgsSchema> {
  const ttlAt = argv.indexOf('--ttl');
  const ttl = ttlAt === -1 ? '3600' : argv[ttlAt + 1];
  const email = argv.find(
    (arg, index) => !arg.startsWith('--') && (ttlAt === -1 || index !== ttlAt + 1),
  );
  const parsed = ArgsSchema.safeParse({ email, ttlSeconds: ttl });
  if (!parsed.success) {
    throw new StepError('parse arguments', 'usage: npm run token -- <email> [--ttl <seconds>]', {
      detail: parsed.error.issues
        .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
        .join('\n'),
    });
  }
  return parsed.data;
}

runMain(async () => {
  const args = parseArgs(process.argv.slice(2));
  const url = targetDatabaseUrl();
  if (url === LOCAL_DATABASE_URL) await ensureLocalPostgres();
  const sql = connect(url);
  try {
    const user = await ensureUser(sql, args.email);
    const token = await signUserToken(await loadOrCreateKeys(), {
      sub: user.id,
      email: args.email.toLowerCase(),
      ttlSeconds: args.ttlSeconds,
      // The functions check iss against their SUPABASE_URL: npm start's, on FUNCTIONS_PORT.
      issuer: `http://127.0.0.1:${process.env.FUNCTIONS_PORT ?? 54321}/auth/v1`,
    });
    console.error(
      `${user.created ? 'created' : 'found'} ${args.email} (${user.id}); token valid for ${args.ttlSeconds}s`,
    );
    console.log(token);
  } finally {
    await sql.end();
  }
});
