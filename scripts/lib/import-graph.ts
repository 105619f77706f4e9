import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The project's own import graph, read with the TypeScript compiler's pre-processor (every `import`, `export … from`,
 * `import()` and `require()` with a relative specifier, type-only imports included: a type import is a dependency too).
 * Paths are relative to `root`, with forward slashes.
 */
export interface ImportGraph {
  files: string[];
  edges: Map<string, string[]>;
}

const EXTENSIONS = ['.ts', '.tsx', '/index.ts'];

function resolve(fromFile: string, spec: string): string | null {
  const base = path.resolve(path.dirname(fromFile), spec);
  for (const ext of ['', ...EXTENSIONS]) {
    const p = base + ext;
    if (fs.existsSync(p) && fs.statSync(p).isFile() && /\.tsx?$/.test(p)) return p;
  }
  return null;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

export function importGraph(root: string, dir = 'src'): ImportGraph {
  const rel = (p: string) => path.relative(root, p).split(path.sep).join('/');
  const files = walk(path.join(root, dir)).sort();
  const edges = new Map<string, string[]>();
  for (const f of files) {
    const info = ts.preProcessFile(fs.readFileSync(f, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((i) => i.fileName)
      .filter((s) => s.startsWith('.'))
      .map((s) => resolve(f, s))
      .filter((p): p is string => p !== null)
      .map(rel);
    edges.set(rel(f), [...new Set(targets)].sort());
  }
  return { files: files.map(rel), edges };
}

/** Every elementary import circle, each once, as the list of files around it (Tarjan's strongly connected components). */
export function importCircles(g: ImportGraph): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (g.edges.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const f of g.files) if (!idx.has(f)) visit(f);
  return out;
}
