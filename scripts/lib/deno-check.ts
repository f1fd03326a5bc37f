/**
 * `deno check` of everything Deno runs, against the lockfiles, in two views:
 *
 *  - as it runs here: every function entry point and every Deno script
 *    (local/deno/*.ts, bench/deno/*.ts)
 *    with the root deno.json and deno.lock (Deno also reads package.json, so
 *    its dependencies are part of that lock's workspace);
 *  - as it deploys: the functions with their own deno.json, which points at
 *    supabase/functions/deno.lock, and without package.json, as the Supabase
 *    CLI bundles them (DENO_NO_PACKAGE_JSON=1: supabase/cli
 *    pkg/function/bundle.go; the edge runtime reads the lock named by
 *    deno.json and never writes it: supabase/edge-runtime deno/args/lockfile.rs).
 *
 * Both deno.json files freeze their lock, so a check fails rather than
 * resolving a version anew. `update` lets the root lock change, then derives
 * the deploy lock from it: the same packages at the same versions.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { denoBin } from '../../local/tooling/functions-server.ts';
import { projectRoot } from '../../local/tooling/project.ts';
import { StepError } from '../../local/tooling/step.ts';

const run = promisify(execFile);

export async function functionEntryPoints(root: string): Promise<string[]> {
  const dir = join(root, 'supabase', 'functions');
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory() && !/^[_.]/.test(entry.name))
    .map((entry) => `supabase/functions/${entry.name}/index.ts`)
    .sort();
}

/** Where the Deno scripts live: the functions server's entry and the benchmark's servers. */
const DENO_SCRIPT_DIRS = ['local/deno', 'bench/deno'];

export async function denoScripts(root: string): Promise<string[]> {
  const scripts: string[] = [];
  for (const dir of DENO_SCRIPT_DIRS) {
    const files = await readdir(join(root, dir)).catch(() => []);
    scripts.push(...files.filter((file) => file.endsWith('.ts')).map((file) => `${dir}/${file}`));
  }
  return scripts;
}

/** The deploy lock: the root lock without what package.json added to its workspace. */
export function deployLock(rootLock: { workspace?: Record<string, unknown> }): unknown {
  const { packageJson: _fromPackageJson, ...workspace } = rootLock.workspace ?? {};
  return { ...rootLock, workspace };
}

async function denoCheck(root: string, args: string[], env: Record<string, string> = {}) {
  try {
    await run(denoBin, ['check', ...args], {
      cwd: root,
      env: { ...process.env, ...env, NO_COLOR: '1' },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new StepError('deno check', `deno check ${args.join(' ')} failed`, {
      detail: `${stderr ?? ''}${stdout ?? ''}`.trim(),
    });
  }
}

export async function checkDeno(
  options: { root?: string; update?: boolean; log?: (line: string) => void } = {},
): Promise<void> {
  const root = options.root ?? projectRoot;
  const log = options.log ?? (() => {});
  const functions = await functionEntryPoints(root);
  const scripts = await denoScripts(root);
  const frozen = options.update ? '--frozen=false' : '--frozen';

  log(`deno check (as run here): ${functions.length} functions, ${scripts.length} scripts`);
  await denoCheck(root, ['--config', 'deno.json', frozen, ...functions, ...scripts]);

  if (options.update) {
    const rootLock = JSON.parse(await readFile(join(root, 'deno.lock'), 'utf8'));
    const deploy = `${JSON.stringify(deployLock(rootLock), null, 2)}\n`;
    await writeFile(join(root, 'supabase', 'functions', 'deno.lock'), deploy);
  }

  // Every function's deno.json is the same (a test holds them equal), so one serves for all.
  const config = functions[0]?.replace(/index\.ts$/, 'deno.json');
  if (!config) return;
  log(`deno check (as deployed): ${config} and supabase/functions/deno.lock`);
  await denoCheck(root, ['--config', config, '--frozen', ...functions], {
    DENO_NO_PACKAGE_JSON: '1',
  });
}
