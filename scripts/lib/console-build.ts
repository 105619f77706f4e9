import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/platform/project-root';

export const CONSOLE_SRC = path.join(PROJECT_ROOT, 'console');

/**
 * esbuild bundle of the console (used by `npm run build` and by the browser tests, which build into their own folder).
 * esbuild is a dev dependency: it is loaded here only, at build time, never by the running service.
 */
export async function buildConsole(outDir: string): Promise<{ files: Array<{ name: string; bytes: number }> }> {
  const esbuild = await import('esbuild');
  fs.mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: { app: path.join(CONSOLE_SRC, 'main.tsx') },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: outDir,
    legalComments: 'none',
    logLevel: 'warning',
  });
  // The icon is a file of its own: without it every page load asks for /favicon.ico and gets a 404.
  for (const f of ['index.html', 'app.css', 'favicon.svg']) fs.copyFileSync(path.join(CONSOLE_SRC, f), path.join(outDir, f));
  return { files: ['index.html', 'app.js', 'app.css', 'favicon.svg'].map((name) => ({ name, bytes: fs.statSync(path.join(outDir, name)).size })) };
}
