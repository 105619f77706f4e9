/**
 * Builds the review and oversight console (console/) into dist/console: one minified ES bundle (preact + the views), one
 * stylesheet and index.html. Everything the page loads comes from the service itself (strict CSP, no CDN, no web
 * fonts; docs/console.md, "How it is built").
 *
 *   npm run build            (runs this after tsc)
 *   tsx scripts/build-console.ts [outDir]
 */
import path from 'node:path';
import { buildConsole } from './lib/console-build';

const out = path.resolve(process.argv[2] ?? 'dist/console');
buildConsole(out)
  .then((r) => process.stdout.write(`console built in ${out}: ${r.files.map((f) => `${f.name} ${f.bytes} B`).join(', ')}\n`))
  .catch((e) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
