/**
 * The README and docs/ as a user follows them: every link lands on a page and
 * a heading that exist, every page is one hop from the README, every command
 * shown is a script of package.json, every repository path named exists, and
 * every migration is listed on the schema page.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../local/tooling/project.ts';

const pages = [
  'README.md',
  ...readdirSync(join(projectRoot, 'docs')).map((f) => `docs/${f}`),
].filter((f) => f.endsWith('.md'));
const text = (page: string) => readFileSync(join(projectRoot, page), 'utf8');
/** Prose only: fenced code keeps its `#` lines out of the headings. */
const withoutFences = (markdown: string) => markdown.replace(/^```[\s\S]*?^```/gm, '');

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function headingSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchors(page: string): Set<string> {
  const headings = withoutFences(text(page)).match(/^#{1,6} .+$/gm) ?? [];
  return new Set(headings.map((h) => headingSlug(h.replace(/^#+ /, ''))));
}

function links(page: string): string[] {
  const found = [...withoutFences(text(page)).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '');
  return found.filter((href) => !/^[a-z]+:/.test(href));
}

describe('the documentation', () => {
  it('makes slugs the way GitHub does', () => {
    expect(headingSlug("Within the platform's life cycle")).toBe('within-the-platforms-life-cycle');
    expect(headingSlug('With Docker: `supabase start`')).toBe('with-docker-supabase-start');
  });

  it('links only to pages and headings that exist', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const href of links(page)) {
        const [path = '', anchor] = href.split('#');
        const target = path
          ? relative(projectRoot, resolve(dirname(join(projectRoot, page)), path))
          : page;
        if (!existsSync(join(projectRoot, target))) broken.push(`${page}: ${href} (no such file)`);
        else if (anchor && target.endsWith('.md') && !anchors(target).has(anchor))
          broken.push(`${page}: ${href} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('puts every page one link from the README', () => {
    const fromReadme = new Set(links('README.md').map((href) => href.split('#')[0] ?? ''));
    expect(pages.filter((p) => p !== 'README.md' && !fromReadme.has(p))).toEqual([]);
  });

  it('shows only npm scripts that exist', () => {
    const scripts = Object.keys(JSON.parse(text('package.json')).scripts);
    const unknown: string[] = [];
    for (const page of pages) {
      for (const m of text(page).matchAll(/npm run (?:-s |--silent )?([a-z][\w:-]*)/g)) {
        if (!scripts.includes(m[1] ?? '')) unknown.push(`${page}: npm run ${m[1]}`);
      }
      for (const m of text(page).matchAll(/`(db:[a-z]+|calls:sql|deno:[a-z]+)`/g)) {
        if (!scripts.includes(m[1] ?? '')) unknown.push(`${page}: ${m[1]}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('documents every npm script', () => {
    const all = pages.map(text).join('\n');
    const scripts = Object.keys(JSON.parse(text('package.json')).scripts);
    const named = (script: string) =>
      all.includes(`npm run ${script}`) ||
      all.includes(`npm ${script}`) ||
      new RegExp(`\\/ \`?${script}\`?`).test(all);
    expect(scripts.filter((script) => !named(script))).toEqual([]);
  });

  it('names only repository paths that exist', () => {
    const missing: string[] = [];
    const pathPattern = /`((?:supabase|local|scripts|bench|tests|docs|vendor)\/[\w./-]+)`/g;
    for (const page of pages) {
      for (const m of text(page).matchAll(pathPattern)) {
        if (!existsSync(join(projectRoot, m[1] ?? ''))) missing.push(`${page}: ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('lists every migration on the schema page', () => {
    const schema = text('docs/schema.md');
    const migrations = readdirSync(join(projectRoot, 'supabase', 'migrations'))
      .filter((f) => f.endsWith('.sql'))
      .map((f) => f.replace(/\.sql$/, ''));
    expect(migrations.length).toBeGreaterThan(20);
    expect(migrations.filter((m) => !schema.includes(`\`${m}\``))).toEqual([]);
  });
});
