import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BOOTSTRAP_KEY, startService } from '../helpers/app';
import { backends, type TestDb } from '../helpers/databases';
import { blocksOf, curlsWithoutFail, docFiles, looksLikeCommands, SHELL_LANGS, type DocBlock } from '../helpers/doc-blocks';

/**
 * Every shell block of README.md and docs/*.md that a reader is told to run, run exactly as written (bash, curl, jq) against
 * a live service: real database (PostgreSQL when TEST_DATABASE_URL is set, so `npm run audit:anchor` reaches the same
 * database through DATABASE_URL), real face models, listening on an ephemeral port. Each session is one bash process over
 * the blocks of its files, in order, under `set -euo pipefail`, started in a folder that like a fresh clone has only
 * package.json, bin/ and node_modules/ (linked): every file the commands need comes from them, and the blocks write only into
 * the temporary folder they make (`mktemp -d`, under this session's TMPDIR). Blocks not meant to run say so
 * (`<!-- not-run: reason -->`, test/helpers/doc-blocks.ts); the first test checks that every shell block is one or the other.
 */
const ROOT = path.resolve(__dirname, '../..');

/** Which files' blocks run, in which shell session. A file with a runnable block must be in exactly one. */
const SESSIONS: Array<{ name: string; files: string[] }> = [
  { name: 'first search', files: ['README.md'] },
  { name: 'walk-through and oversight', files: ['docs/walkthrough.md', 'docs/OVERSIGHT.md'] },
  { name: 'sharing', files: ['docs/sharing.md'] },
  { name: 'bulk enrolment', files: ['docs/enrolment.md'] },
];

const allBlocks = docFiles(ROOT).flatMap((f) => blocksOf(ROOT, f));
const runnable = (file: string) => allBlocks.filter((b) => b.file === file && SHELL_LANGS.has(b.lang) && b.notRun === undefined);
const where = (b: DocBlock) => `${b.file}:${b.line}`;

describe('shell blocks of README.md and docs/', () => {
  it('are each run by a session below or marked <!-- not-run: reason -->', () => {
    const sessionFiles = SESSIONS.flatMap((s) => s.files);
    const problems = [
      ...allBlocks.filter((b) => SHELL_LANGS.has(b.lang) && b.notRun === undefined && !sessionFiles.includes(b.file))
        .map((b) => `${where(b)}: a shell block neither run (add its file to SESSIONS in test/integration/walkthrough.test.ts) nor marked <!-- not-run: reason -->`),
      ...allBlocks.filter((b) => b.notRun === '').map((b) => `${where(b)}: <!-- not-run: --> without a reason`),
      ...allBlocks.filter(looksLikeCommands).map((b) => `${where(b)}: commands in a \`${b.lang || 'plain'}\` block: fence them as bash (run or marked)`),
      ...sessionFiles.filter((f) => runnable(f).length === 0).map((f) => `${f}: in SESSIONS but has no runnable block`),
      ...SESSIONS.flatMap((s) => s.files).flatMap((f) => runnable(f)).flatMap((b) => curlsWithoutFail(b.text).map((c) => `${where(b)}: ${c} hides a refused request: add -f (or pipe into jq -e)`)),
    ];
    expect(problems).toEqual([]);
  });
});

function bash(script: string, cwd: string, env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const backend = backends().find((b) => b.name === 'postgres') ?? backends()[0]!;

describe(`documented commands on ${backend.name}`, () => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let server: http.Server;
  let dir: string;
  let clone: string;

  beforeAll(async () => {
    for (const tool of ['curl', 'jq']) expect({ tool, found: spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0 }).toEqual({ tool, found: true });
    t = await backend.open();
    svc = await startService(t.db, { env: { FACE_WORKERS: '1' } });
    await svc.startEngine();
    server = http.createServer(svc.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'walkthrough-'));
    clone = path.join(dir, 'facematch');
    fs.mkdirSync(clone);
    for (const entry of ['package.json', 'bin', 'node_modules']) fs.symlinkSync(path.join(ROOT, entry), path.join(clone, entry));
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await svc?.close();
    await t?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a session's blocks in one shell; returns its output and the temporary folder its blocks worked in. */
  async function session(name: string, tail = '') {
    const files = SESSIONS.find((s) => s.name === name)!.files;
    const blocks = files.flatMap(runnable);
    const script = ['set -euo pipefail', ...blocks.map((b) => `echo "== ${where(b)}" >&2\n${b.text}`), tail].join('\n');
    const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
    const { port } = server.address() as AddressInfo;
    const r = await bash(script, clone, {
      URL: `http://127.0.0.1:${port}`,
      ADMIN: BOOTSTRAP_KEY,
      TMPDIR: tmp,
      DATA_DIR: path.join(tmp, 'data'),
      LOG_LEVEL: 'silent',
      ...(t.url ? { DATABASE_URL: t.url } : {}),
    });
    const lastBlock = r.stderr.split('\n').filter((l) => l.startsWith('== ')).pop();
    const failed = { status: r.status, stderr: r.stderr.split('\n').filter((l) => /error|denied|not found|unbound|curl:/i.test(l)) };
    expect(failed.status === 0 && failed.stderr.length === 0 ? failed : { ...failed, inBlock: lastBlock }).toEqual({ status: 0, stderr: [] });
    // The project folder is left as it was: everything went to the folder the blocks made with mktemp -d.
    expect(fs.readdirSync(clone).sort()).toEqual(['bin', 'node_modules', 'package.json']);
    const work = fs.readdirSync(tmp).filter((f) => f.startsWith('tmp.')).map((f) => path.join(tmp, f));
    expect(work.length).toBe(1);
    return { ...r, work: work[0]! };
  }

  it('README: the first search finds the enrolled face in the photo it was cut from', async () => {
    const r = await session('first search');
    expect(r.stdout).toMatch(/"displayName": "Subject A",\s*"similarity": 0\.9\d*/);
  }, 300_000);

  it('docs/walkthrough.md and docs/OVERSIGHT.md: enrolment, search, screening, oversight and four-eyes review', async () => {
    const r = await session('walk-through and oversight', 'echo "RESULT SUBJECT=$SUBJECT SEARCH=$SEARCH"');
    const ids = /RESULT SUBJECT=([0-9a-f-]{36}) SEARCH=([0-9a-f-]{36})/.exec(r.stdout);
    expect(ids).not.toBeNull();
    expect(r.stdout).toMatch(/"faceId":"[0-9a-f-]{36}","subjectId":"[0-9a-f-]{36}"/); // the enrolment
    const search = JSON.parse(fs.readFileSync(path.join(r.work, 'search.json'), 'utf8'));
    expect(search.searchId).toBe(ids![2]);
    expect(search.humanReviewRequired).toBe(true);
    const tops = search.faces.map((f: { candidates: { subjectId: string }[] }) => f.candidates[0]?.subjectId);
    expect(tops).toContain(ids![1]); // the enrolled face is found in the group photo it was cut from
    expect(r.stdout).toMatch(/"mode":"screening"/);

    expect(fs.readFileSync(path.join(r.work, 'audit.ndjson'), 'utf8').trim().split('\n').length).toBeGreaterThan(3);
    expect(r.stdout).toMatch(/\{"ok":true,"events":\d+/); // npm run verify-audit -- audit.ndjson, from the temporary folder
    expect(r.stdout).toMatch(/"searchesByOrganization":\[\{"organization":"fiu"/); // today's statistics hold the search
    expect(fs.readFileSync(path.join(r.work, 'case.html'), 'utf8')).toMatch(/^<!doctype html>/i);
    expect(r.stdout).toMatch(/\{"seq":\d+,"hash":"[0-9a-f]{64}","at":"/); // npm run audit:anchor
    // OVERSIGHT.md: two holders confirm, and the case file records both
    expect(r.stdout).toMatch(/"awaiting_second_confirmation"\s+"confirmed"/);
    const report = JSON.parse(fs.readFileSync(path.join(r.work, 'case.json'), 'utf8'));
    expect(JSON.stringify(report)).toMatch(/Reviewer One[\s\S]*Reviewer Two|Reviewer Two[\s\S]*Reviewer One/);
  }, 300_000);

  it('docs/sharing.md: a grant the bank accepts lets it screen, the FIU gets the notice, revoking ends it', async () => {
    const r = await session('sharing');
    expect(r.stdout).toMatch(/^true$/m); // UNKNOWN_WATCHLIST before the grant; the offer pending in the bank's GET /v1/grants
    expect(r.stdout).toMatch(/"owner": "fiu",\s+"access": "screen",\s+"state": "active"/); // the bank's admin accepted it
    expect(r.stdout).toMatch(/"withheld": "screen"/); // the bank's screening hit: the hit and the FIU's reference only
    expect(r.stdout).not.toContain('Subject M');
    expect(r.stdout).toMatch(/"searchingOrganization": "bank-a"/); // the FIU's notice
    expect(r.stdout.trim().split('\n').pop()).toBe('0'); // after revoking, the same screening finds nothing
  }, 300_000);

  it('docs/enrolment.md: npm run enrol loads the CSV, lists the refused row, and a re-run skips what is there', async () => {
    const r = await session('bulk enrolment');
    const summaries = r.stdout.split('\n').filter((l) => l.startsWith('{"rows"')).map((l) => JSON.parse(l));
    expect(summaries).toEqual([
      expect.objectContaining({ rows: 3, enrolled: 2, skipped: 0, failed: 1 }),
      expect.objectContaining({ rows: 3, enrolled: 0, skipped: 2, failed: 1 }),
    ]);
    expect(r.stdout).toMatch(/^Subject C,fraud,bulk-demo,case 2026\/117,photos\/wall\.jpg,P-1003,NO_FACE,/m);
    expect(r.stderr).not.toMatch(/warning/); // the key came from FACEMATCH_API_KEY
  }, 300_000);
});
