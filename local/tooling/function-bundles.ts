/**
 * What each Edge Function ships: its module graph (`deno info`) and its
 * bundle (`deno bundle`, esbuild, as one file). Hosted Supabase refuses a
 * function whose bundle passes 20 MB, and a larger bundle is a longer cold
 * start, so each function has a budget well under that, and a test holds it.
 * The platform builds an eszip of the same module graph (the sources,
 * unminified); `deno bundle` gives the size of the code that runs.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { denoBin } from './functions-server.ts';
import { projectRoot } from './project.ts';

const run = promisify(execFile);
const functionsDir = join(projectRoot, 'supabase', 'functions');

/** The most a function's bundle may weigh, in bytes (the platform's limit: 20 MB). */
export const BUNDLE_BUDGET_BYTES: Record<string, number> = {
  health: 1_500_000,
  feedback: 1_500_000,
  budget: 1_500_000,
  'langfuse-sync': 3_000_000,
  'ai-coach': 5_000_000,
  encouragement: 5_000_000,
  reflection: 5_000_000,
  'daily-status': 5_000_000,
};

export async function functionNames(): Promise<string[]> {
  const entries = await readdir(functionsDir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('_'))
    .map((entry) => entry.name)
    .sort();
}

const entryPoint = (name: string) => `./supabase/functions/${name}/index.ts`;
const denoArgs = ['--config', join(projectRoot, 'deno.json')];

interface GraphModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

export interface FunctionGraph {
  /** npm packages the function loads when it starts (static imports only). */
  staticPackages: Set<string>;
  /** npm packages it may load later (dynamic imports too). */
  allPackages: Set<string>;
}

/** `@scope/name@1.2.3_peer` -> `@scope/name`. */
const packageName = (npm: string) => npm.replace(/^(@?[^@]+)@.*$/, '$1');

export async function functionGraph(name: string): Promise<FunctionGraph> {
  const { stdout } = await run(denoBin, ['info', '--json', ...denoArgs, entryPoint(name)], {
    cwd: projectRoot,
    maxBuffer: 64 * 1024 * 1024,
  });
  const graph = JSON.parse(stdout) as { roots: string[]; modules: GraphModule[] };
  const bySpecifier = new Map(graph.modules.map((module) => [module.specifier, module]));
  const reach = (followDynamic: boolean) => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const pending = [...graph.roots];
    while (pending.length > 0) {
      const specifier = pending.pop() as string;
      if (seen.has(specifier)) continue;
      seen.add(specifier);
      for (const dependency of bySpecifier.get(specifier)?.dependencies ?? []) {
        if (dependency.isDynamic && !followDynamic) continue;
        const code = dependency.code?.specifier;
        // An npm import: the package is what the function loads (its own imports follow).
        if (code?.startsWith('npm:')) packages.add(packageName(code.slice(4).replace(/^\//, '')));
        else if (code) pending.push(code);
      }
    }
    return packages;
  };
  return { staticPackages: reach(false), allPackages: reach(true) };
}

/** The size in bytes of the function bundled into one file. */
export async function bundleBytes(name: string): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'bundle-'));
  try {
    const out = join(dir, `${name}.js`);
    await run(denoBin, ['bundle', ...denoArgs, '--quiet', entryPoint(name), '-o', out], {
      cwd: projectRoot,
      env: { ...process.env, NO_COLOR: '1' },
    });
    return (await stat(out)).size;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
