import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/platform/project-root';

/**
 * Every script under scripts/ opens with a comment whose first paragraph says what it does or measures and names the doc
 * that records its figures or describes it (issue 24). Shared helpers live in scripts/lib/ and are not scripts.
 */
const dir = path.join(PROJECT_ROOT, 'scripts');
const scripts = readdirSync(dir, { withFileTypes: true })
  .filter((e) => e.isFile() && /\.(ts|sh)$/.test(e.name))
  .map((e) => e.name);

/** The header's first paragraph, as one line of text. */
function firstParagraph(text: string): string {
  const lines = text.split('\n');
  if (lines[0]?.startsWith('#!')) lines.shift();
  const out: string[] = [];
  if (lines[0]?.startsWith('/**') && lines[0].includes('*/')) return lines[0].replace(/^\/\*\*|\*\/.*$/g, '').trim();
  if (lines[0]?.startsWith('/**')) {
    for (const l of lines.slice(1)) {
      const t = l.replace(/^\s*\*\/?\s?/, '').trim();
      if (!t || l.includes('*/')) break;
      out.push(t);
    }
  } else {
    for (const l of lines) {
      if (!l.startsWith('#')) break;
      const t = l.replace(/^#\s?/, '').trim();
      if (!t) break;
      out.push(t);
    }
  }
  return out.join(' ');
}

describe('scripts/ headers', () => {
  it('finds the scripts', () => {
    expect(scripts).toEqual(expect.arrayContaining(['bench.ts', 'eval.ts', 'enrol.ts', 'worker-memory.sh']));
  });

  it.each(scripts)('%s says what it does and names an existing doc in its first paragraph', (name) => {
    const first = firstParagraph(readFileSync(path.join(dir, name), 'utf8'));
    expect({ name, first: first.length > 20 }).toEqual({ name, first: true });
    const docs = [...first.matchAll(/\b(docs\/[\w.-]+\.md|README\.md)/g)].map((m) => m[1]!);
    expect({ name, names: docs.length > 0 }).toEqual({ name, names: true });
    for (const d of docs) expect({ name, doc: d, exists: existsSync(path.join(PROJECT_ROOT, d)) }).toEqual({ name, doc: d, exists: true });
  });
});
