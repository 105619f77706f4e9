import fs from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import { PROJECT_ROOT } from '../project-root';

export const DEFAULT_CONSOLE_DIR = path.join(PROJECT_ROOT, 'dist', 'console');

/**
 * Strict policy for the console: scripts and styles from the service only (no inline script), API calls to the service only,
 * images from the service or blob:/data: (face crops are fetched with the API key and shown as blob: URLs). The only inline
 * styles allowed are those given by hash (the case file's, so a case file opened from the console renders).
 */
export const consoleCsp = (styleHashes: readonly string[] = []) => [
  "default-src 'none'",
  "script-src 'self'",
  ["style-src 'self'", ...styleHashes.map((h) => `'${h}'`)].join(' '),
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Serves the built console (dist/console) at `/`. Without a build, `/` says how to make one. */
export function consoleRouter(dir = DEFAULT_CONSOLE_DIR, opts: { styleHashes?: readonly string[] } = {}): Router {
  const r = Router();
  const csp = consoleCsp(opts.styleHashes);
  r.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });
  if (!fs.existsSync(path.join(dir, 'index.html'))) {
    r.get('/', (_req, res) => {
      res.status(404).type('text/plain').send('The console is not built: run `npm run build` (npm start does), then reload.\n');
    });
    return r;
  }
  r.use(express.static(dir, { index: 'index.html', maxAge: 0, setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache') }));
  return r;
}
