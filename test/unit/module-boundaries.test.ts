import fs from 'node:fs';
import path from 'node:path';
import { importCircles, importGraph } from '../../scripts/lib/import-graph';

/**
 * The layout's rules (README "Design notes" → docs/architecture.md), checked over the import graph of src/:
 * - no import circles;
 * - src/shared imports nothing of src/platform or src/modules; src/platform imports nothing of src/modules;
 * - a module imports only its own files, src/shared, src/platform, and other modules' `<m>.model.ts` (shapes and the ports
 *   other modules implement) — never another module's repository, routes or service file;
 * - only repositories (`*.repo.ts`), src/platform and the composition root import src/platform/db, and only repositories in
 *   src/modules run SQL.
 */
const ROOT = path.resolve(__dirname, '../..');
const g = importGraph(ROOT);
const moduleOf = (f: string) => /^src\/modules\/([^/]+)\//.exec(f)?.[1] ?? null;
const ROOTS = new Set(['src/main.ts', 'src/serve.ts', 'src/app.ts', 'src/compose.ts', 'src/config.ts']);

function violations(): string[] {
  const out: string[] = [];
  for (const [from, targets] of g.edges) {
    const m = moduleOf(from);
    for (const to of targets) {
      const bad = (why: string) => out.push(`${from} → ${to}: ${why}`);
      if (from.startsWith('src/shared/') && !to.startsWith('src/shared/')) bad('src/shared imports only src/shared');
      if (from.startsWith('src/platform/') && to.startsWith('src/modules/')) bad('src/platform imports no module');
      const tm = moduleOf(to);
      if (m && tm && tm !== m && !to.endsWith('.model.ts')) bad(`module ${m} may import only the model of module ${tm}`);
      if (to.startsWith('src/platform/db/') && !from.startsWith('src/platform/') && !from.endsWith('.repo.ts') && !ROOTS.has(from)) {
        bad('only repositories, src/platform and the composition root import src/platform/db');
      }
    }
  }
  return out;
}

function sqlOutsideRepositories(): string[] {
  return g.files
    .filter((f) => moduleOf(f) && !f.endsWith('.repo.ts'))
    .filter((f) => /\.(query|exec)\s*(<[^>]*>)?\s*\(/.test(fs.readFileSync(path.join(ROOT, f), 'utf8')))
    .map((f) => `${f} runs SQL`);
}

describe('module boundaries of src/', () => {
  it('reads the whole source tree (the check cannot pass on an empty graph)', () => {
    expect(g.files.length).toBeGreaterThan(80);
    expect(g.edges.get('src/compose.ts')!.length).toBeGreaterThan(10);
  });

  it('has no import circles', () => {
    expect(importCircles(g)).toEqual([]);
  });

  it('keeps every import within the layout rules', () => {
    expect(violations()).toEqual([]);
  });

  it('runs SQL only in repositories', () => {
    expect(sqlOutsideRepositories()).toEqual([]);
  });
});

describe('the circle finder itself', () => {
  it('finds a circle of three files and ignores a diamond', () => {
    const edges = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['e', 'f']],
      ['e', ['g']],
      ['f', ['g']],
      ['g', []],
    ]);
    expect(importCircles({ files: [...edges.keys()], edges })).toEqual([['a', 'b', 'c']]);
  });
});
