/**
 * The lockfiles travel: Deno runs here and deploys with exactly the versions
 * Node's tests run (package-lock.json); the deploy lock
 * (supabase/functions/deno.lock, named by every function's deno.json) holds
 * the root lock's packages; both are frozen; and `deno check` (a step of
 * .ci/run) covers every function and every Deno script on real Deno,
 * failing on a type error in either.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../local/tooling/project.ts';
import { checkDeno, deployLock, functionEntryPoints } from '../../scripts/lib/deno-check.ts';

interface DenoLock {
  specifiers: Record<string, string>;
  npm: Record<string, { integrity: string }>;
  workspace: { dependencies: string[]; packageJson?: { dependencies: string[] } };
}

const readText = (path: string) => readFile(join(projectRoot, path), 'utf8');
const readJson = async <T>(path: string) => JSON.parse(await readText(path)) as T;

const RUN_LOCK_HINT = 'out of step: run `npm run deno:lock`';

describe('the lockfiles', () => {
  it('record exactly the dependencies of deno.json and package.json', async () => {
    const lock = await readJson<DenoLock>('deno.lock');
    const denoJson = await readJson<{ imports: Record<string, string> }>('deno.json');
    const packageJson = await readJson<{ devDependencies: Record<string, string> }>('package.json');
    // `npm:@supabase/server@1.8.1/core` is a dependency on the package.
    const imports = Object.values(denoJson.imports).map((target) =>
      target.replace(/^(npm:@?[^@/]+(?:\/[^@/]+)?@[^/]+).*$/, '$1'),
    );
    expect(lock.workspace.dependencies, RUN_LOCK_HINT).toEqual([...new Set(imports)].sort());
    const packages = Object.entries(packageJson.devDependencies).map(([name, range]) =>
      range.startsWith('npm:') ? range : `npm:${name}@${range}`,
    );
    expect(lock.workspace.packageJson?.dependencies, RUN_LOCK_HINT).toEqual(packages.sort());
  });

  it.each(['deno.lock', 'supabase/functions/deno.lock'])(
    '%s: every package is the one npm installs, same version, same tarball',
    async (path) => {
      const lock = await readJson<DenoLock>(path);
      const npmLock = await readJson<{
        packages: Record<string, { name?: string; version?: string; integrity?: string }>;
      }>('package-lock.json');
      const installed = new Set(
        Object.entries(npmLock.packages).map(([where, entry]) => {
          const name = entry.name ?? where.replace(/^.*node_modules\//, '');
          return `${name}@${entry.version} ${entry.integrity}`;
        }),
      );
      const locked = Object.entries(lock.npm).map(([key, entry]) => {
        const [, name, version] = /^(@?[^@]+)@([^_]+)/.exec(key) as RegExpExecArray;
        return `${name}@${version} ${entry.integrity}`;
      });
      expect(locked.length).toBeGreaterThan(20);
      expect(locked.filter((entry) => !installed.has(entry))).toEqual([]);
    },
  );

  it('deploy with the packages the functions run with here', async () => {
    const rootLock = await readJson<DenoLock>('deno.lock');
    expect(await readJson('supabase/functions/deno.lock'), RUN_LOCK_HINT).toEqual(
      deployLock(rootLock),
    );
  });

  it('are frozen, and every function names the deploy lock', async () => {
    expect((await readJson<{ lock: unknown }>('deno.json')).lock).toEqual({
      path: './deno.lock',
      frozen: true,
    });
    const functions = await functionEntryPoints(projectRoot);
    expect(functions.length).toBeGreaterThan(5);
    const configs = await Promise.all(
      functions.map((entry) => readText(entry.replace(/index\.ts$/, 'deno.json'))),
    );
    // One config for all: the deploy check reads the first.
    expect(new Set(configs).size).toBe(1);
    expect(JSON.parse(configs[0] as string).lock).toEqual({ path: '../deno.lock', frozen: true });
  });
});

describe('deno check', () => {
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'deno-check-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('is a step of CI', async () => {
    const steps = (await readText('.ci/run')).split('\n').filter((line) => /^npm /.test(line));
    expect(steps).toEqual([
      'npm ci',
      'npm run lint',
      'npm run typecheck',
      'npm run deno:check',
      'npm test',
    ]);
  });

  /** The project's Deno side, copied, with `broken` written over one of its files. */
  async function copyWith(name: string, broken: { path: string; text: string }) {
    const root = join(scratch, name);
    for (const path of ['deno.json', 'deno.lock', 'package.json', 'supabase/functions']) {
      await cp(join(projectRoot, path), join(root, path), { recursive: true });
    }
    await mkdir(join(root, 'local', 'deno'), { recursive: true });
    await mkdir(join(root, 'bench', 'deno'), { recursive: true });
    await writeFile(
      join(root, 'local', 'deno', 'serve.ts'),
      "import { consoleLogger } from '../../supabase/functions/_shared/log.ts';\nconsoleLogger({ msg: 'ok' });\n",
    );
    await writeFile(join(root, broken.path), broken.text);
    return root;
  }

  it('passes on this tree, as run here and as deployed', async () => {
    await expect(checkDeno()).resolves.toBeUndefined();
  }, 180_000);

  it('fails on a type error in a Deno script, which tsc does not check', async () => {
    const root = await copyWith('script', {
      path: 'bench/deno/broken.ts',
      text: "export const port: number = 'not a number';\n",
    });
    await expect(checkDeno({ root })).rejects.toMatchObject({
      step: 'deno check',
      detail: expect.stringMatching(/TS2322[\s\S]*bench\/deno\/broken\.ts/),
    });
  }, 180_000);

  it('fails on a type error in a function', async () => {
    const root = await copyWith('function', {
      path: 'supabase/functions/health/index.ts',
      text: "const status: number = 'ok';\nexport default { fetch: () => new Response(status) };\n",
    });
    await expect(checkDeno({ root })).rejects.toMatchObject({
      detail: expect.stringMatching(/TS2322[\s\S]*supabase\/functions\/health\/index\.ts/),
    });
  }, 180_000);
});
