import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BOOTSTRAP_KEY, startService } from '../helpers/app';
import { backends, type TestDb } from '../helpers/databases';

/**
 * README's curl walk-through and oversight commands, run exactly as written (bash, curl, jq) against a live service: real
 * database (PostgreSQL when TEST_DATABASE_URL is set, so `npm run audit:anchor` reaches the same database through
 * DATABASE_URL), real face models, listening on an ephemeral port. The shell runs in a fresh folder that, like a fresh clone,
 * has only package.json, bin/ and node_modules/ (linked), so every file the commands need must come from them.
 */
const ROOT = path.resolve(__dirname, '../..');

function readmeBlocks(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = (title: string) => {
    const start = readme.indexOf(`\n## ${title}\n`);
    const end = readme.indexOf('\n## ', start + 1);
    return readme.slice(start, end);
  };
  return ['Walk-through with curl', 'For oversight staff'].map((t) => {
    const blocks = [...section(t).matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect({ t, blocks: blocks.length }).toEqual({ t, blocks: 1 });
    return blocks[0]!;
  });
}

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

describe(`README walk-through on ${backend.name}`, () => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  let server: http.Server;
  let dir: string;

  beforeAll(async () => {
    for (const tool of ['curl', 'jq']) expect({ tool, found: spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0 }).toEqual({ tool, found: true });
    t = await backend.open();
    svc = await startService(t.db, { env: { FACE_WORKERS: '1' } });
    await svc.startEngine();
    server = http.createServer(svc.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'walkthrough-'));
    for (const entry of ['package.json', 'bin', 'node_modules']) fs.symlinkSync(path.join(ROOT, entry), path.join(dir, entry));
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await svc?.close();
    await t?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs every command as written, end to end', async () => {
    const [walk, oversight] = readmeBlocks();
    const script = `set -euo pipefail\n${walk}\n${oversight}\necho "RESULT SUBJECT=$SUBJECT SEARCH=$SEARCH"\n`;
    const { port } = server.address() as AddressInfo;
    const r = await bash(script, dir, {
      URL: `http://127.0.0.1:${port}`,
      ADMIN: BOOTSTRAP_KEY,
      DATA_DIR: path.join(dir, 'data'),
      LOG_LEVEL: 'silent',
      ...(t.url ? { DATABASE_URL: t.url } : {}),
    });
    expect({ status: r.status, stderr: r.stderr.split('\n').filter((l) => /error|denied|not found/i.test(l)) }).toEqual({ status: 0, stderr: [] });

    const ids = /RESULT SUBJECT=([0-9a-f-]{36}) SEARCH=([0-9a-f-]{36})/.exec(r.stdout);
    expect(ids).not.toBeNull();
    expect(r.stdout).toMatch(/"faceId":"[0-9a-f-]{36}","subjectId":"[0-9a-f-]{36}"/); // the enrolment
    const search = JSON.parse(fs.readFileSync(path.join(dir, 'search.json'), 'utf8'));
    expect(search.searchId).toBe(ids![2]);
    expect(search.humanReviewRequired).toBe(true);
    const tops = search.faces.map((f: { candidates: { subjectId: string }[] }) => f.candidates[0]?.subjectId);
    expect(tops).toContain(ids![1]); // the enrolled face is found in the group photo it was cut from
    expect(r.stdout).toMatch(/"mode":"screening"/);

    expect(fs.readFileSync(path.join(dir, 'audit.ndjson'), 'utf8').trim().split('\n').length).toBeGreaterThan(3);
    expect(r.stdout).toMatch(/\{"ok":true,"events":\d+/); // npm run verify-audit -- audit.ndjson, from this folder
    expect(r.stdout).toMatch(/"searchesByOrganization":\[/);
    expect(fs.readFileSync(path.join(dir, 'case.html'), 'utf8')).toMatch(/^<!doctype html>/i);
    expect(r.stdout).toMatch(/\{"seq":\d+,"hash":"[0-9a-f]{64}","at":"/); // npm run audit:anchor
  }, 300_000);
});
