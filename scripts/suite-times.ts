/**
 * Prints each test suite's wall time from jest's `--json` output, slowest first, with the total (CI prints it after
 * `npm test`; docs/testing.md records the suite's times before and after a change of the test layout).
 *
 *   npx tsx scripts/suite-times.ts <jest-results.json> [--top N]
 */
import fs from 'node:fs';
import path from 'node:path';

interface JestResults {
  startTime: number;
  numTotalTests: number;
  numFailedTests: number;
  testResults: Array<{ name: string; startTime: number; endTime: number; status: string; assertionResults: unknown[] }>;
}

const file = process.argv[2];
if (!file || !fs.existsSync(file)) {
  process.stderr.write('usage: npx tsx scripts/suite-times.ts <jest-results.json> [--top N]\n');
  process.exit(2);
}
const top = process.argv.includes('--top') ? Number(process.argv[process.argv.indexOf('--top') + 1]) : Infinity;
const r = JSON.parse(fs.readFileSync(file, 'utf8')) as JestResults;
const root = path.resolve(__dirname, '..');
const rows = r.testResults
  .map((t) => ({ suite: t.name.includes('/test/') ? t.name.slice(t.name.lastIndexOf('/test/') + 1) : path.relative(root, t.name), seconds: (t.endTime - t.startTime) / 1000, tests: t.assertionResults.length, status: t.status }))
  .sort((a, b) => b.seconds - a.seconds);
const wall = (Math.max(...r.testResults.map((t) => t.endTime)) - r.startTime) / 1000;
const sum = rows.reduce((a, x) => a + x.seconds, 0);
process.stdout.write(`suites ${rows.length}, tests ${r.numTotalTests} (${r.numFailedTests} failed); jest wall ${wall.toFixed(0)} s, sum of suites ${sum.toFixed(0)} s\n`);
for (const x of rows.slice(0, top)) process.stdout.write(`${x.seconds.toFixed(1).padStart(7)} s  ${String(x.tests).padStart(4)} tests  ${x.status === 'passed' ? '' : `${x.status.toUpperCase()}  `}${x.suite}\n`);
