/**
 * `npm run deno:check` (CI): `deno check` of every Edge Function and every
 * scripts/deno/*.ts, against frozen lockfiles, as they run here and as they
 * deploy (scripts/lib/deno-check.ts).
 * `npm run deno:lock`: the same after a dependency changed, letting deno.lock
 * follow and writing supabase/functions/deno.lock from it.
 */
import { checkDeno } from './lib/deno-check.ts';
import { runMain } from './lib/step.ts';

runMain(async () => {
  await checkDeno({ update: process.argv.includes('--update'), log: console.log });
  console.log('deno check: ok');
});
