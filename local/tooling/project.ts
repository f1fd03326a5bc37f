/** Where things live in this repository. Every script resolves paths from here. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const supabaseDir = join(projectRoot, 'supabase');
export const migrationsDir = join(supabaseDir, 'migrations');
export const rollbacksDir = join(supabaseDir, 'rollbacks');
export const seedFile = join(supabaseDir, 'seed.sql');
export const bootstrapFile = join(projectRoot, 'local', 'platform', 'bootstrap.sql');
/** Gitignored state of the local stack: Postgres data, keys, logs. */
export const localStateDir = join(projectRoot, '.local');
