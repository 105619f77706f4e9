/**
 * Writes or checks the generated references (tool; docs/configuration.md "Every setting").
 *
 * Writes the generated references (docs/configuration.md's settings table, docs/openapi.json) from the code; `--check`
 * only compares and exits 1 when one is stale (test/integration/generated-references.test.ts runs the same check in `npm test`).
 *
 *   npm run docs:generate [-- --check]
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/platform/project-root';
import { REFERENCES } from './lib/references';

async function main() {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const ref of REFERENCES) {
    const file = path.join(PROJECT_ROOT, ref.file);
    const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const expected = await ref.expected(current);
    if (expected === current) {
      process.stdout.write(`${ref.file}: up to date\n`);
    } else if (check) {
      stale++;
      process.stdout.write(`${ref.file}: stale (run npm run docs:generate)\n`);
    } else {
      writeFileSync(file, expected);
      process.stdout.write(`${ref.file}: written\n`);
    }
  }
  process.exitCode = stale ? 1 : 0;
}

void main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 2;
});
