/**
 * `npm run lock:complete`, after `npm install` adds or upgrades a package.
 *
 * Packages such as biome and the Supabase CLI ship one optional package per
 * platform. When the registry npm installs from lacks some of them (a partial
 * mirror), npm leaves them out of package-lock.json, and `npm ci` then
 * refuses the lockfile as out of sync. This adds each missing entry with the
 * os, cpu and libc its name states, so `npm ci` skips it on other platforms,
 * exactly as a lockfile made against the full registry would.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../local/tooling/project.ts';

interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  optionalDependencies?: Record<string, string>;
  os?: string[];
  cpu?: string[];
  libc?: string[];
}

const OS_NAMES: Record<string, string> = {
  darwin: 'darwin',
  linux: 'linux',
  win32: 'win32',
  windows: 'win32',
  android: 'android',
  freebsd: 'freebsd',
};

/** os, cpu and libc from a platform package name such as @biomejs/cli-linux-x64-musl. */
function platformOf(name: string): Pick<LockEntry, 'os' | 'cpu' | 'libc'> | undefined {
  const match =
    /(darwin|linux|win32|windows|android|freebsd)-(x64|arm64|arm|ia32)(-musl|-glibc)?$/.exec(name);
  if (!match) return undefined;
  const [, os, cpu, libc] = match;
  return {
    os: [OS_NAMES[os as string] as string],
    cpu: [cpu as string],
    ...(libc ? { libc: [libc.slice(1)] } : {}),
  };
}

const lockFile = join(projectRoot, 'package-lock.json');
const lock = JSON.parse(await readFile(lockFile, 'utf8')) as {
  packages: Record<string, LockEntry>;
};
const added: string[] = [];
for (const entry of Object.values(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    const platform = platformOf(name);
    if (lock.packages[key] || !platform) continue;
    lock.packages[key] = { version, dev: entry.dev ?? false, optional: true, ...platform };
    added.push(`${name}@${version}`);
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) =>
    a === '' ? -1 : b === '' ? 1 : a.localeCompare(b),
  ),
);
await writeFile(lockFile, `${JSON.stringify(lock, null, 2)}\n`);
console.log(added.length ? `added ${added.join(', ')}` : 'package-lock.json is complete');
