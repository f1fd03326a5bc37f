/**
 * The layers import one way: supabase/ (the product) <- local/ (the stand-ins
 * and the local tooling) <- scripts/ (the commands) and bench/ (benchmark and
 * chaos), which are siblings and never import each other. Nothing but tests
 * imports tests/. An import against that direction fails here, listed by
 * file and specifier, so the product never depends on what only runs locally.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../local/tooling/project.ts';

const ALLOWED: Record<string, readonly string[]> = {
  supabase: ['supabase'],
  local: ['supabase', 'local'],
  scripts: ['supabase', 'local', 'scripts'],
  bench: ['supabase', 'local', 'bench'],
};
const LAYERS = Object.keys(ALLOWED);

/** Comments out, so an example in prose is not read as an import. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/**
 * Every module a file names: `import ... from`, `export ... from`, a bare
 * `import '...'`, `import('...')` with a literal, and `new URL('...',
 * import.meta.url)` (how a Deno entry names the files it loads).
 */
function specifiers(source: string): string[] {
  const text = withoutComments(source);
  const patterns = [
    /(?:^|[;\s])(?:import|export)\s+(?:type\s+)?(?:[^'"`;]*?\s+from\s+)?['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"`]([^'"`$]+)['"`]\s*\)/g,
    /\bnew URL\(\s*['"`]([^'"`$]+)['"`]\s*,\s*import\.meta\.url\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...text.matchAll(pattern)].map((m) => m[1] as string));
}

/** The top-level folder a relative specifier lands in, or null for a package. */
function targetLayer(file: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const target = relative(projectRoot, resolve(projectRoot, dirname(file), specifier));
  if (target.startsWith('..')) return '(outside the repository)';
  return target.split(/[\\/]/)[0] ?? '';
}

interface Edge {
  file: string;
  specifier: string;
  layer: string;
  target: string;
}

/** Every relative edge of these files (paths relative to the project root). */
function edges(files: ReadonlyMap<string, string>): Edge[] {
  const found: Edge[] = [];
  for (const [file, source] of files) {
    const layer = file.split('/')[0] as string;
    for (const specifier of specifiers(source)) {
      const target = targetLayer(file, specifier);
      if (target !== null) found.push({ file, specifier, layer, target });
    }
  }
  return found;
}

/** The edges against the direction, as `file: specifier (layer -> target)`. */
function violations(files: ReadonlyMap<string, string>): string[] {
  return edges(files)
    .filter((edge) => !(ALLOWED[edge.layer] ?? []).includes(edge.target))
    .map((edge) => `${edge.file}: ${edge.specifier} (${edge.layer} -> ${edge.target})`);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(projectRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return /\.(ts|tsx|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

function tree(): Map<string, string> {
  const files = LAYERS.flatMap((layer) => sourceFiles(layer));
  return new Map(files.map((file) => [file, readFileSync(join(projectRoot, file), 'utf8')]));
}

describe('import direction (supabase <- local <- scripts, bench)', () => {
  it('holds for every file of supabase/, local/, scripts/ and bench/', () => {
    const files = tree();
    expect(violations(files)).toEqual([]);
    // Each layer was read, and its imports seen: the check did look.
    const seen = new Set(edges(files).map((edge) => `${edge.layer} -> ${edge.target}`));
    for (const edge of ['supabase -> supabase', 'local -> supabase', 'local -> local']) {
      expect(seen).toContain(edge);
    }
    for (const edge of ['scripts -> local', 'bench -> local', 'bench -> supabase']) {
      expect(seen).toContain(edge);
    }
  });

  it('catches every kind of import against the direction', () => {
    const sample = new Map([
      ['supabase/functions/a/index.ts', "import { x } from '../../../local/tooling/keys.ts';"],
      ['supabase/functions/_shared/b.ts', "export * from '../../../bench/lib/stats.ts';"],
      ['local/tooling/c.ts', "import type {\n  Step,\n} from '../../scripts/lib/reset.ts';"],
      ['local/d.ts', "const m = await import('../tests/support/rows.ts');"],
      ['local/deno/e.ts', "const dir = new URL('../../scripts/', import.meta.url);"],
      ['scripts/f.ts', "import '../bench/run.ts';"],
      ['bench/g.ts', "import { resetDatabase } from '../scripts/lib/reset.ts';"],
      ['bench/h.ts', "import { y } from '../../elsewhere/y.ts';"],
      [
        'bench/fine.ts',
        [
          "import { q } from '../supabase/functions/_shared/db/statement.ts';",
          "import { connect } from '../local/tooling/connect.ts';",
          "import { stats } from './lib/stats.ts';",
          "import postgres from 'postgres';",
          "// import { no } from '../scripts/commented-out.ts';",
        ].join('\n'),
      ],
    ]);
    expect(violations(sample)).toEqual([
      'supabase/functions/a/index.ts: ../../../local/tooling/keys.ts (supabase -> local)',
      'supabase/functions/_shared/b.ts: ../../../bench/lib/stats.ts (supabase -> bench)',
      'local/tooling/c.ts: ../../scripts/lib/reset.ts (local -> scripts)',
      'local/d.ts: ../tests/support/rows.ts (local -> tests)',
      'local/deno/e.ts: ../../scripts/ (local -> scripts)',
      'scripts/f.ts: ../bench/run.ts (scripts -> bench)',
      'bench/g.ts: ../scripts/lib/reset.ts (bench -> scripts)',
      'bench/h.ts: ../../elsewhere/y.ts (bench -> (outside the repository))',
    ]);
  });
});
