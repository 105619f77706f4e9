#!/usr/bin/env node
/**
 * Builds the service: `node bin/build.js` (npm run build) compiles src/ and scripts/ into dist/ (tsc) and bundles the console
 * into dist/console (esbuild), then stamps dist/ with the time the build started.
 * `node bin/build.js --if-stale` (npm start's prestart) builds only when a build input (SOURCES) changed after the stamp, or
 * there is no stamp yet (a fresh clone); otherwise it does nothing, so a restart takes seconds, not a build. Where no sources are
 * shipped (the runtime image: dist/ without src/) it never builds.
 * Plain JavaScript on purpose: it runs before anything is compiled.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stampOf = (dir) => path.join(dir, 'dist', '.build-stamp');
/** What the build reads: sources, compiler settings, and the lockfile (a dependency change can change the output). */
const SOURCES = ['src', 'scripts', 'console', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

/** The first build input under `dir` modified after `since` (ms), or null. */
function newerInput(dir, since) {
  const walk = (p) => {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (!st) return null;
    if (!st.isDirectory()) return st.mtimeMs > since ? p : null;
    for (const e of fs.readdirSync(p)) {
      const hit = walk(path.join(p, e));
      if (hit) return hit;
    }
    return null;
  };
  for (const s of SOURCES) {
    const hit = walk(path.join(dir, s));
    if (hit) return path.relative(dir, hit);
  }
  return null;
}

/** Why the project in `dir` needs a build, or null when its dist/ is current (or there is nothing to build from). */
function staleReason(dir = root) {
  if (!fs.existsSync(path.join(dir, 'src'))) return null;
  const stamp = fs.statSync(stampOf(dir), { throwIfNoEntry: false });
  if (!stamp) return 'no complete build in dist/ yet';
  const newer = newerInput(dir, stamp.mtimeMs);
  return newer ? `${newer} changed since the last build` : null;
}

function run(args) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function build() {
  if (!fs.existsSync(path.join(root, 'src'))) {
    process.stderr.write('build: no src/ here (a built image ships dist/ only); build in a source checkout\n');
    process.exit(2);
  }
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  } catch {
    process.stderr.write('build: TypeScript is not installed (a dev dependency): run `npm ci` without --omit=dev first\n');
    process.exit(2);
  }
  const started = new Date();
  run([tsc, '-p', 'tsconfig.build.json']);
  run([require.resolve('tsx/cli', { paths: [root] }), 'scripts/build-console.ts']);
  // Stamped with the start time: a source saved while the build ran is newer than the stamp, so the next start rebuilds.
  fs.writeFileSync(stampOf(root), `${started.toISOString()}\n`);
  fs.utimesSync(stampOf(root), started, started);
}

if (require.main === module) {
  const ifStale = process.argv.includes('--if-stale');
  if (!ifStale) build();
  else {
    const reason = staleReason();
    if (reason) {
      process.stderr.write(`building first (${reason}); later starts skip this while the sources are unchanged\n`);
      build();
    } else if (!fs.existsSync(path.join(root, 'dist', 'src', 'main.js'))) {
      process.stderr.write('nothing to start: no dist/src/main.js and no sources to build it from\n');
      process.exit(2);
    }
  }
}

module.exports = { staleReason, SOURCES };
