#!/usr/bin/env node
/**
 * Runs an operational script by name: `node bin/run-script.js <name> [args…]` (the npm scripts `keys`, `verify-audit`,
 * `audit:anchor`, `reembed`, … go through it).
 * - In a source checkout (scripts/<name>.ts present) it runs the TypeScript with tsx, so an edit needs no build.
 * - Where only compiled code is shipped (the runtime image: dist/ without scripts/ or src/) it runs dist/scripts/<name>.js
 *   with plain node, so no dev dependency and no TypeScript is needed.
 * Plain JavaScript on purpose: it must run before anything is compiled. The script runs in the project folder (npm's working
 * directory); the caller's directory is in INIT_CWD (npm sets it), for scripts that take file paths.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const [name, ...args] = process.argv.slice(2);
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  process.stderr.write('usage: node bin/run-script.js <script-name> [args…]\n');
  process.exit(2);
}
const source = path.join(root, 'scripts', `${name}.ts`);
const compiled = path.join(root, 'dist', 'scripts', `${name}.js`);
let argv;
if (fs.existsSync(source)) argv = [require.resolve('tsx/cli'), source, ...args];
else if (fs.existsSync(compiled)) argv = [compiled, ...args];
else {
  process.stderr.write(`no script "${name}": neither scripts/${name}.ts nor dist/scripts/${name}.js exists (npm run build compiles scripts/)\n`);
  process.exit(2);
}
// Ctrl-C on a terminal reaches the whole process group, the script included: wait for it to finish its own shutdown (enrol
// completes the rows in flight and writes its errors file) instead of dying first and handing the prompt back too early.
process.on('SIGINT', () => {});
const r = spawnSync(process.execPath, argv, { stdio: 'inherit', env: { ...process.env, INIT_CWD: process.env.INIT_CWD ?? process.cwd() } });
if (r.error) throw r.error;
process.exit(r.status ?? (r.signal ? 128 + (require('node:os').constants.signals[r.signal] ?? 0) : 1));
