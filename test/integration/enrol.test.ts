import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import request from 'supertest';
import { csvLine, parseCsv } from '../../scripts/lib/csv';
import { startService } from '../helpers/app';
import { backends, type TestDb } from '../helpers/databases';
import { sample } from '../helpers/fixtures';
import { blankImage, cropFace } from '../helpers/images';

/**
 * `npm run enrol` as an operator runs it: the CLI in a child process (bin/run-script.js, like the npm script) against a
 * listening service with the real default engine, real face crops from face-api's demo photos, a generated wall and a
 * corrupt file. Everything it does is checked through the API and the audit trail.
 */
const ROOT = path.resolve(__dirname, '../..');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  summary: { rows: number; enrolled: number; skipped: number; failed: number; errorsFile: string | null; interrupted: boolean };
}

/**
 * The CLI, run asynchronously (the service answering it lives in this process), in its own process group as a terminal
 * would run it. `cwd` plays the caller's directory (INIT_CWD).
 */
function start(args: string[], cwd: string, viaNpm = false, extraEnv: Record<string, string> = {}): { child: ChildProcess; done: Promise<Run> } {
  const [cmd, argv] = viaNpm
    ? ['npm', ['--prefix', ROOT, 'run', '--silent', 'enrol', '--', ...args]]
    : [process.execPath, [path.join(ROOT, 'bin/run-script.js'), 'enrol', ...args]];
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent', ...extraEnv };
  delete env.INIT_CWD;
  const child = spawn(cmd, argv, { cwd, env, detached: true });
  const done = new Promise<Run>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      let summary = {} as Run['summary'];
      try {
        summary = JSON.parse(last);
      } catch {
        // left empty: the assertions on status and stderr say what happened
      }
      resolve({ status, stdout, stderr, summary });
    });
  });
  return { child, done };
}
const enrol = (args: string[], cwd: string, viaNpm = false, env: Record<string, string> = {}) => start(args, cwd, viaNpm, env).done;

async function readErrors(file: string): Promise<Record<string, string>[]> {
  const recs: string[][] = [];
  for await (const r of parseCsv([fs.readFileSync(file, 'utf8')])) recs.push(r.fields);
  const [header, ...rows] = recs;
  return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i] ?? ''])));
}

describe.each(backends())('npm run enrol on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let server: http.Server;
  let url: string;
  let dir: string;
  let enroller: { id: string; auth: string };
  let auditor: string;
  const key = () => enroller.auth.replace(/^Bearer /, '');
  /** The CLI with the enroller's key in FACEMATCH_API_KEY, as docs/enrolment.md runs it. */
  const enrolAs = (args: string[], cwd: string, viaNpm = false) => enrol(args, cwd, viaNpm, { FACEMATCH_API_KEY: key() });

  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db, { env: { FACE_WORKERS: '1', RATE_LIMIT_PER_MINUTE: '100000' } });
    const engine = await svc.startEngine();
    server = http.createServer(svc.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await svc.watchlist('fiu', 'gallery');
    enroller = await svc.key(['enroller'], 'fiu');
    auditor = (await svc.key(['auditor'], '*')).auth;

    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enrol-'));
    fs.mkdirSync(path.join(dir, 'photos'));
    // Three single-face crops the default engine enrols (one face, quality over the enrolment floor), from the group photos.
    const crops: Buffer[] = [];
    for (const n of [1, 2, 3, 4] as const) {
      for (const f of (await engine.analyze(sample(n))).faces) {
        if (crops.length === 3) break;
        const crop = await cropFace(sample(n), f.box, 0.35);
        const again = (await engine.analyze(crop)).faces;
        if (again.length === 1 && again[0]!.quality.score >= 0.6) crops.push(crop);
      }
    }
    expect(crops).toHaveLength(3);
    crops.forEach((c, i) => fs.writeFileSync(path.join(dir, 'photos', `face${i}.jpg`), c));
    fs.writeFileSync(path.join(dir, 'photos', 'wall.png'), await blankImage(400, 300, undefined, 'png'));
    fs.writeFileSync(path.join(dir, 'photos', 'corrupt.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), randomBytes(2000)]));
  }, 180_000);
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await svc?.close();
    await t?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const subjects = async () =>
    (await request(svc.app).get('/v1/subjects?watchlist=gallery&limit=200').set('Authorization', enroller.auth).expect(200)).body.items as Array<{
      id: string;
      displayName: string;
      externalRef: string | null;
      faceCount: number;
    }>;

  // Written as a spreadsheet saves it: BOM, CRLF, quoted commas and a line break inside a quoted field, columns reordered.
  const rows = [
    ['externalRef', 'displayName', 'category', 'watchlist', 'legalBasis', 'image', 'caseRef', 'notes', 'reviewBy'],
    ['P-1', 'Doe, Jane', 'fraud', 'gallery', '§ 30 GwG', 'photos/face0.jpg', 'CASE-1', 'met the "courier"\non 3 May', '2027-01-31'],
    ['P-1', 'Doe, Jane', 'fraud', 'gallery', '§ 30 GwG', 'photos/face1.jpg', '', '', ''],
    ['', 'Single Person', 'money_laundering', 'gallery', 'case 2026/311', 'photos/face2.jpg', '', '', ''],
    ['P-2', 'Bad Category', 'thief', 'gallery', 'basis', 'photos/face0.jpg', '', '', ''],
    ['P-3', 'Unknown List', 'fraud', 'nowhere', 'basis', 'photos/face0.jpg', '', '', ''],
    ['P-4', 'Missing Photo', 'fraud', 'gallery', 'basis', 'photos/absent.jpg', '', '', ''],
    ['', 'A Wall', 'fraud', 'gallery', 'basis', 'photos/wall.png', '', '', ''],
    ['P-5', 'Corrupt File', 'fraud', 'gallery', 'basis', 'photos/corrupt.jpg', '', '', ''],
  ];
  const csv = () => '\ufeff' + rows.map((r) => csvLine(r).replace(/\n$/, '\r\n')).join('');
  const expectedErrors = {
    'Bad Category': 'VALIDATION_FAILED',
    'Unknown List': 'UNKNOWN_WATCHLIST',
    'Missing Photo': 'IMAGE_NOT_FOUND',
    'A Wall': 'NO_FACE',
    'Corrupt File': 'UNSUPPORTED_MEDIA_TYPE',
  };

  it('enrols every good row through the API (same externalRef: one subject, two faces), audited, and lists the bad rows with their codes', async () => {
    fs.writeFileSync(path.join(dir, 'gallery.csv'), csv());
    const r = await enrolAs(['--url', url, '--csv', 'gallery.csv', '--concurrency', '3'], dir);
    expect(r.summary).toMatchObject({ rows: 8, enrolled: 3, skipped: 0, failed: 5, errorsFile: path.join(dir, 'gallery.csv.errors.csv'), interrupted: false });
    expect(r.status).toBe(1);

    const errors = await readErrors(path.join(dir, 'gallery.csv.errors.csv'));
    expect(Object.fromEntries(errors.map((e) => [e.displayName, e.errorCode]))).toEqual(expectedErrors);
    expect(errors.every((e) => e.errorMessage!.length > 0)).toBe(true);
    expect(errors.find((e) => e.displayName === 'Missing Photo')).toMatchObject({ image: 'photos/absent.jpg', externalRef: 'P-4', errorMessage: expect.stringContaining('ENOENT'), errorDetails: '' });
    // The API's details stay with the row: the field a VALIDATION_FAILED names, in words and as the API sent them.
    const badCategory = errors.find((e) => e.displayName === 'Bad Category')!;
    expect(badCategory.errorMessage).toMatch(/^The request is not valid\. \(category: /);
    expect(JSON.parse(badCategory.errorDetails!)).toEqual([{ path: 'category', message: expect.any(String) }]);

    const listed = await subjects();
    // A subject with a reference stays when its photo is refused (a re-run with a better photo finds it); one without is erased.
    expect(listed.map((s) => [s.displayName, s.externalRef, s.faceCount]).sort()).toEqual([
      ['Corrupt File', 'P-5', 0],
      ['Doe, Jane', 'P-1', 2],
      ['Single Person', null, 1],
    ]);
    const jane = (await request(svc.app).get(`/v1/subjects/${listed.find((s) => s.externalRef === 'P-1')!.id}`).set('Authorization', enroller.auth).expect(200)).body;
    expect(jane).toMatchObject({ category: 'fraud', legalBasis: '§ 30 GwG', caseRef: 'CASE-1', notes: 'met the "courier"\non 3 May', reviewBy: '2027-01-31' });
    expect(jane.faces.map((f: { imageSha256: string }) => f.imageSha256).sort()).toEqual(
      ['face0.jpg', 'face1.jpg'].map((f) => createHash('sha256').update(fs.readFileSync(path.join(dir, 'photos', f))).digest('hex')).sort(),
    );

    // Every enrolment is in the audit chain under the enroller's key; the wall's subject was created, then erased again.
    const events = async (type: string) =>
      (await request(svc.app).get(`/v1/audit/events?type=${type}&limit=100`).set('Authorization', auditor).expect(200)).body.items as Array<{ actor: { keyId: string } }>;
    const enrolled = await events('face.enrolled');
    expect(enrolled).toHaveLength(3);
    expect(enrolled.every((e) => e.actor.keyId === enroller.id)).toBe(true);
    expect(await events('subject.created')).toHaveLength(4);
    expect(await events('subject.deleted')).toHaveLength(1);
    expect((await request(svc.app).get('/v1/audit/verify').set('Authorization', auditor).expect(200)).body.ok).toBe(true);

    // Not a terminal: one progress line at the end (and one per 100 rows before it), then the summary on stdout.
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^8\/8 rows · 3 enrolled · 0 skipped · 5 failed · [\d.]+ rows\/s · ETA 0:00$/)]);
  }, 180_000);

  it('skips on a re-run what is already enrolled (no duplicate subject or face), and re-runs the fixed rows from the errors file', async () => {
    const before = await subjects();
    const again = await enrolAs(['--url', url, '--csv', path.join(dir, 'gallery.csv'), '--concurrency', '2'], os.tmpdir());
    expect(again.summary).toMatchObject({ rows: 8, enrolled: 0, skipped: 3, failed: 5 });
    expect(again.status).toBe(1);
    expect(await subjects()).toEqual(before);

    // The errors file is an input too: fix two rows there and run it; nothing else is touched.
    const errorsFile = path.join(dir, 'gallery.csv.errors.csv');
    const fixed = fs
      .readFileSync(errorsFile, 'utf8')
      .replace('thief', 'fraud')
      .replace('photos/absent.jpg', 'photos/face2.jpg');
    fs.writeFileSync(path.join(dir, 'fixed.csv'), fixed);
    const r = await enrolAs(['--url', url, '--csv', 'fixed.csv'], dir);
    expect(r.summary).toMatchObject({ rows: 5, enrolled: 2, skipped: 0, failed: 3 });
    const after = await subjects();
    expect(after.filter((s) => ['P-2', 'P-4'].includes(s.externalRef ?? '')).map((s) => s.faceCount)).toEqual([1, 1]);
    expect(after).toHaveLength(before.length + 2);
  }, 180_000);

  it('draws a progress bar on a terminal and a line per 100 rows otherwise, and takes a relative --csv from where npm was run', async () => {
    const caller = path.join(dir, 'caller');
    fs.mkdirSync(caller);
    const many = [['displayName', 'category', 'watchlist', 'legalBasis', 'image'], ...Array.from({ length: 250 }, (_, i) => [`Nobody ${i}`, 'fraud', 'gallery', 'b', `none/${i}.jpg`])];
    fs.writeFileSync(path.join(caller, 'many.csv'), many.map((r) => csvLine(r)).join(''));
    const r = await enrolAs(['--url', url, '--csv', 'many.csv'], caller, true);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n').map((l) => l.split(' · ')[0])).toEqual(['100/250 rows', '200/250 rows', '250/250 rows']);
    expect(r.summary).toMatchObject({ rows: 250, failed: 250, errorsFile: path.join(caller, 'many.csv.errors.csv') });
    expect((await readErrors(path.join(caller, 'many.csv.errors.csv'))).every((e) => e.errorCode === 'IMAGE_NOT_FOUND')).toBe(true);

    // On a terminal (util-linux `script` gives the CLI a pseudo-terminal): a bar redrawn in place, no per-100 lines.
    const cli = [process.execPath, path.join(ROOT, 'bin/run-script.js'), 'enrol', '--url', url, '--csv', path.join(caller, 'many.csv')];
    const tty = await new Promise<string>((resolve, reject) => {
      const c = spawn('script', ['-qec', cli.join(' '), '/dev/null'], { env: { ...process.env, LOG_LEVEL: 'silent', FACEMATCH_API_KEY: key() } });
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.on('error', reject);
      c.on('close', () => resolve(out));
    });
    const frames = tty.split('\r\x1b[2K').slice(1);
    expect(frames.length).toBeGreaterThanOrEqual(1);
    expect(frames.at(-1)).toMatch(/^\[#{24}\] 250\/250 100% · 0 enrolled · 0 skipped · 250 failed · [\d.]+ rows\/s · ETA 0:00\r?\n/);
    expect(tty).not.toContain('100/250 rows');
  }, 120_000);

  it('finishes the row in flight on Ctrl-C, exits 130, and a re-run completes the file without duplicates', async () => {
    const n = 12;
    const lines = [['displayName', 'category', 'watchlist', 'legalBasis', 'image', 'externalRef'], ...Array.from({ length: n }, (_, i) => [`Stopped ${i}`, 'fraud', 'gallery', 'b', `photos/face${i % 3}.jpg`, `STOP-${i}`])];
    fs.writeFileSync(path.join(dir, 'stop.csv'), lines.map((r) => csvLine(r)).join(''));
    const stopped = async () => (await subjects()).filter((s) => s.externalRef?.startsWith('STOP-'));
    const run = start(['--url', url, '--csv', 'stop.csv', '--concurrency', '1'], dir, false, { FACEMATCH_API_KEY: key() });
    while (!(await stopped()).some((s) => s.faceCount > 0)) await new Promise((r) => setTimeout(r, 50));
    process.kill(-run.child.pid!, 'SIGINT'); // the whole process group, as Ctrl-C on a terminal
    const r = await run.done;
    expect(r.status).toBe(130);
    expect(r.stderr).toContain('interrupted: finishing the rows in flight');
    expect(r.summary).toMatchObject({ rows: n, failed: 0, interrupted: true });
    expect(r.summary.enrolled).toBeGreaterThanOrEqual(1);
    expect(r.summary.enrolled).toBeLessThan(n);
    // The row in flight was finished, not cut: every subject made so far has its face.
    expect((await stopped()).map((s) => s.faceCount)).toEqual(Array(r.summary.enrolled).fill(1));

    const rest = await enrolAs(['--url', url, '--csv', 'stop.csv'], dir);
    expect(rest.summary).toMatchObject({ rows: n, enrolled: n - r.summary.enrolled, skipped: r.summary.enrolled, failed: 0, interrupted: false });
    expect(rest.status).toBe(0);
    expect((await stopped()).map((s) => s.faceCount)).toEqual(Array(n).fill(1));
  }, 180_000);

  it('takes the key from FACEMATCH_API_KEY; --key still works but warns that it shows the key; --help explains', async () => {
    // One row whose photo is absent: the key is accepted (the run gets as far as the row), nothing is written.
    fs.writeFileSync(path.join(dir, 'one.csv'), 'displayName,category,watchlist,legalBasis,image\nNobody,fraud,gallery,b,photos/none.jpg\n');
    const viaEnv = await enrolAs(['--url', url, '--csv', 'one.csv'], dir);
    expect(viaEnv).toMatchObject({ status: 1, summary: { rows: 1, failed: 1 } });
    expect(viaEnv.stderr).not.toMatch(/warning/);
    const viaFlag = await enrol(['--url', url, '--key', key(), '--csv', 'one.csv'], dir);
    expect(viaFlag).toMatchObject({ status: 1, summary: { rows: 1, failed: 1 } });
    expect(viaFlag.stderr).toMatch(/^enrol: warning: --key shows the key to anyone who can list processes, and npm prints it with the command; set FACEMATCH_API_KEY instead$/m);
    const help = await enrol(['--help'], dir);
    expect(help).toMatchObject({ status: 0, stderr: '' });
    expect(help.stdout).toMatch(/^usage: FACEMATCH_API_KEY=<enroller or admin key> npm run enrol -- --url <service> --csv <file>/);
    expect(help.stdout).toContain('errorDetails');
    const none = await enrol(['--url', url, '--csv', 'one.csv'], dir);
    expect(none).toMatchObject({ status: 2, stderr: expect.stringContaining('missing FACEMATCH_API_KEY (or --key)') });
  }, 120_000);

  it("enrols the face a row's faceIndex column names in a group photo (0-based, as the MULTIPLE_FACES row's errorDetails list the boxes)", async () => {
    fs.writeFileSync(path.join(dir, 'photos', 'group.jpg'), sample(4));
    fs.writeFileSync(path.join(dir, 'group.csv'), 'displayName,category,watchlist,legalBasis,image,externalRef\nGroup Member,fraud,gallery,b,photos/group.jpg,G-1\n');
    const refused = await enrolAs(['--url', url, '--csv', 'group.csv'], dir);
    expect(refused).toMatchObject({ status: 1, summary: { rows: 1, failed: 1 } });
    const [row] = await readErrors(path.join(dir, 'group.csv.errors.csv'));
    expect(row).toMatchObject({ errorCode: 'MULTIPLE_FACES' });
    const boxes = JSON.parse(row!.errorDetails!).boxes as unknown[];
    expect(boxes.length).toBeGreaterThanOrEqual(3);
    fs.writeFileSync(path.join(dir, 'group.csv'), 'displayName,category,watchlist,legalBasis,image,externalRef,faceIndex\nGroup Member,fraud,gallery,b,photos/group.jpg,G-1,1\n');
    const chosen = await enrolAs(['--url', url, '--csv', 'group.csv'], dir);
    expect(chosen).toMatchObject({ status: 0, summary: { rows: 1, enrolled: 1, failed: 0 } });
    const s = (await subjects()).find((x) => x.externalRef === 'G-1')!;
    const full = (await request(svc.app).get(`/v1/subjects/${s.id}`).set('Authorization', enroller.auth).expect(200)).body;
    expect(full.faces.map((f: { box: unknown }) => f.box)).toEqual([boxes[1]]);
    expect(full).not.toHaveProperty('faceIndex');
  }, 120_000);

  it('keeps the quality issues of a LOW_QUALITY refusal in the errors file', async () => {
    // A face scaled down to 45 px wide: too small and too soft to enrol.
    fs.writeFileSync(path.join(dir, 'photos', 'tiny.jpg'), await sharp(path.join(dir, 'photos', 'face0.jpg')).resize(45).jpeg().toBuffer());
    fs.writeFileSync(path.join(dir, 'tiny.csv'), 'displayName,category,watchlist,legalBasis,image\nTiny Face,fraud,gallery,b,photos/tiny.jpg\n');
    const r = await enrolAs(['--url', url, '--csv', 'tiny.csv'], dir);
    expect(r).toMatchObject({ status: 1, summary: { rows: 1, failed: 1 } });
    const [row] = await readErrors(path.join(dir, 'tiny.csv.errors.csv'));
    expect(row).toMatchObject({ displayName: 'Tiny Face', errorCode: 'LOW_QUALITY', errorMessage: expect.stringMatching(/\(.*SMALL_FACE.*\)$/) });
    expect(JSON.parse(row!.errorDetails!)).toMatchObject({ issues: expect.arrayContaining(['SMALL_FACE']), minScore: 0.5 });
  }, 120_000);

  it('refuses a bad header, a key that cannot enrol and a missing file with exit code 2, before writing anything', async () => {
    fs.writeFileSync(path.join(dir, 'typo.csv'), 'displayName,category,watchlist,legalBasis,image,reviewby\nX,fraud,gallery,b,photos/face0.jpg,2027-01-01\n');
    const typo = await enrolAs(['--url', url, '--csv', 'typo.csv'], dir);
    expect(typo).toMatchObject({ status: 2, stderr: expect.stringContaining('unknown column(s) reviewby') });
    const searcher = (await svc.key(['searcher'], 'fiu')).auth.replace(/^Bearer /, '');
    const wrongRole = await enrol(['--url', url, '--key', searcher, '--csv', 'gallery.csv'], dir);
    expect(wrongRole).toMatchObject({ status: 2, stderr: expect.stringContaining('an enroller or admin key is needed') });
    const unknownKey = await enrol(['--url', url, '--key', 'fm_not-a-key', '--csv', 'gallery.csv'], dir);
    expect(unknownKey).toMatchObject({ status: 2, stderr: expect.stringContaining('UNAUTHENTICATED') });
    const absent = await enrolAs(['--url', url, '--csv', 'absent.csv'], dir);
    expect(absent).toMatchObject({ status: 2, stderr: expect.stringContaining('no such file') });
    expect(fs.existsSync(path.join(dir, 'typo.csv.errors.csv'))).toBe(false);
  }, 120_000);
});
