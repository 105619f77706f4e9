import fs from 'node:fs';
import path from 'node:path';

/**
 * The code blocks of the project's Markdown (README.md and docs/*.md), for the test that runs them. A shell block a reader
 * is not meant to run as written (production set-up, a measurement that takes hours) says so on the line before its fence:
 *
 *   <!-- not-run: the reason -->
 */
export interface DocBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  text: string;
  /** The reason given by a `<!-- not-run: … -->` line right before the fence. */
  notRun?: string;
}

export const SHELL_LANGS = new Set(['bash', 'sh', 'shell', 'zsh', 'console']);
const NOT_RUN = /^<!--\s*not-run:\s*(.*?)\s*-->$/;

export function docFiles(root: string): string[] {
  const docs = fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).sort();
  return ['README.md', ...docs.map((f) => `docs/${f}`)];
}

export function blocksOf(root: string, file: string): DocBlock[] {
  const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[2]!;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.trim().startsWith(fence); i++) body.push(lines[i]!);
    let prev = start - 1;
    while (prev >= 0 && lines[prev]!.trim() === '') prev--;
    const marker = prev >= 0 ? NOT_RUN.exec(lines[prev]!.trim()) : null;
    blocks.push({ file, line: start + 1, lang: open[3]!.toLowerCase(), text: `${body.join('\n')}\n`, ...(marker ? { notRun: marker[1]! } : {}) });
  }
  return blocks;
}

/** A non-shell block that nonetheless reads as commands to type (so it must be fenced as a shell block, run or marked). */
export function looksLikeCommands(b: DocBlock): boolean {
  return !SHELL_LANGS.has(b.lang) && !['sql', 'json', 'ts', 'typescript', 'js', 'javascript', 'yaml', 'csv', 'http'].includes(b.lang) &&
    b.text.split('\n').some((l) => /^\s*(\$ )?(npm|npx|node|curl|docker|psql|export|cd|for|tsx)\s/.test(l));
}

/**
 * Every `curl` in a shell block that would hide a refused request: without -f/--fail (or --fail-with-body), and not piped
 * into `jq -e` (which fails the step unless the answer is the one expected). Returns the offending commands.
 */
export function curlsWithoutFail(text: string): string[] {
  const joined = text.replace(/\\\n\s*/g, ' ');
  const bad: string[] = [];
  for (const m of joined.matchAll(/\bcurl\s([^|;\n)]*)(\|\s*jq\s+(-\w+\s+)*)?/g)) {
    const args = m[1]!.match(/("[^"]*"|'[^']*'|\S+)/g) ?? [];
    const fails = args.some((a) => /^-[a-zA-Z]*f[a-zA-Z]*$/.test(a) || a === '--fail' || a === '--fail-with-body');
    const checked = /\|\s*jq\s+(-\w+\s+)*-e\b/.test(joined.slice(m.index!, m.index! + m[0].length + 40));
    if (!fails && !checked) bad.push(`curl ${m[1]!.trim().slice(0, 100)}`);
  }
  return bad;
}
