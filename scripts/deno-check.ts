/**
 * `npm run deno:check` (CI): `deno check` of every Edge Function and every
 * Deno script (local/deno, bench/deno), against frozen lockfiles, as they run
 * here and as they deploy (lib/deno-check.ts).
 * `npm run deno:lock`: the same after a dependency changed, letting deno.lock
 * follow and writing supabase/functions/deno.lock from it.
 */

import { runMain } from '../local/tooling/step.ts';
import { checkDeno } from './lib/deno-check.ts';

runMain(async () => {
  await checkDeno({ update: process.argv.includes('--update'), log: console.log });
  console.log('deno check: ok');
});
