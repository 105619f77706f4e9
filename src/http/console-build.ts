import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../infra/project-root';

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
  for (const f of ['index.html', 'app.css']) fs.copyFileSync(path.join(CONSOLE_SRC, f), path.join(outDir, f));
  return { files: ['index.html', 'app.js', 'app.css'].map((name) => ({ name, bytes: fs.statSync(path.join(outDir, name)).size })) };
}
