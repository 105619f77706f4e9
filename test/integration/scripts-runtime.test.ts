import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createPgliteDb } from '../../src/platform/db/pglite.db';
import { startService } from '../helpers/app';

/**
 * The operational scripts run as README documents them: through `npm run`, from a source checkout (TypeScript via tsx) and
 * from a folder shaped like the runtime image (Dockerfile: package.json, bin/, dist/, migrations/, models/, node_modules;
 * no scripts/, no src/), where the compiled dist/scripts/*.js run with plain node.
 */
const ROOT = path.resolve(__dirname, '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
/** Scripts README tells operators to run in a container (issue 15 item 5); `migrate` and `enrol` once they exist. */
const RUNTIME_SCRIPTS = ['keys', 'verify-audit', 'audit:anchor', 'reembed', 'migrate', 'enrol'].filter((s) => pkg.scripts[s]);

const made: string[] = [];
const tmp = (prefix: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
};
afterAll(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function npm(cwd: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync('npm', ['run', '--silent', ...args], { cwd, encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent', ...env }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** An audit export of a real service (a few key events), as GET /v1/audit/export streams it. */
async function realExport(): Promise<string> {
  const db = await createPgliteDb('memory://');
  try {
    const svc = await startService(db);
    const auditor = await svc.key(['auditor'], '*');
    await svc.key(['searcher'], 'bank-a');
    return (await request(svc.app).get('/v1/audit/export').set('Authorization', auditor.auth).expect(200)).text;
  } finally {
    await db.close();
  }
}

describe('operational scripts', () => {
  it('routes every script README documents for containers through bin/run-script.js, which the image ships', () => {
    expect(RUNTIME_SCRIPTS).toEqual(expect.arrayContaining(['keys', 'verify-audit', 'audit:anchor', 'reembed']));
    for (const name of RUNTIME_SCRIPTS) expect(pkg.scripts[name]).toMatch(/^node bin\/run-script\.js [a-z-]+$/);
    const runtime = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').split(/^FROM /m).pop()!;
    expect(runtime).toMatch(/^COPY bin \.\/bin$/m);
    expect(runtime).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(runtime).not.toMatch(/^COPY (scripts|src)\b/m);
    const build = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
    expect(build.include).toEqual(expect.arrayContaining(['src', 'scripts']));
  });

  it('resolves a relative verify-audit path against the directory npm was run from', async () => {
    const caller = tmp('caller-');
    fs.writeFileSync(path.join(caller, 'audit.ndjson'), await realExport());
    const r = spawnSync('npm', ['--prefix', ROOT, 'run', '--silent', 'verify-audit', '--', 'audit.ndjson'], { cwd: caller, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, events: 3, start: { seq: 1 } });
  });

  it('runs keys, audit:anchor, reembed, verify-audit and enrol from compiled JS in an image-shaped folder', async () => {
    const image = tmp('image-');
    const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', path.join(image, 'dist')], { encoding: 'utf8' });
    expect(tsc.stdout + tsc.stderr).toBe('');
    for (const entry of ['package.json', 'bin', 'migrations', 'models']) fs.cpSync(path.join(ROOT, entry), path.join(image, entry), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(image, 'node_modules'), 'dir');
    const env = { DATA_DIR: path.join(image, 'data'), NODE_ENV: 'production' };

    const created = npm(image, ['keys', '--', 'create', '--role', 'auditor', '--org', '*', '--holder', 'Image Test', '--label', 'image test'], env);
    expect(created).toMatchObject({ status: 0, stderr: '' });
    expect(created.stdout).toMatch(/^\{"id":"[0-9a-f-]{36}","roles":\["auditor"\],"organization":"\*","holder":"Image Test"\}\nkey \(shown once\): fm_/);
    const listed = npm(image, ['keys', '--', 'list'], env);
    expect(listed.status).toBe(0);
    expect(JSON.parse(listed.stdout.trim().split('\n')[0]!)).toMatchObject({ roles: ['auditor'], label: 'image test' });

    const anchored = npm(image, ['audit:anchor'], env);
    expect(anchored.status).toBe(0);
    expect(JSON.parse(anchored.stdout)).toEqual({ seq: 2, hash: expect.stringMatching(/^[0-9a-f]{64}$/), at: expect.any(String) });

    const reembed = npm(image, ['reembed', '--', '--dry-run'], env);
    expect(reembed.status).toBe(0);
    expect(JSON.parse(reembed.stdout)).toMatchObject({ pending: 0 });

    fs.writeFileSync(path.join(image, 'export.ndjson'), await realExport());
    const verified = npm(image, ['verify-audit', '--', 'export.ndjson'], env);
    expect(verified.status).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true });

    // enrol talks to a running service (test/integration/enrol.test.ts): here it must start from compiled JS (its CSV reader
    // included), read and check the file, and stop with exit code 2 at a service that is not there.
    fs.writeFileSync(path.join(image, 'gallery.csv'), 'displayName,category,watchlist,legalBasis,image\nX,fraud,w,b,x.jpg\n');
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const enrolled = npm(image, ['enrol', '--', '--url', `http://127.0.0.1:${closed}`, '--csv', 'gallery.csv'], { FACEMATCH_API_KEY: 'k' });
    expect(enrolled).toMatchObject({ status: 2, stderr: expect.stringMatching(new RegExp(`^enrol: cannot reach http://127\\.0\\.0\\.1:${closed}: .*ECONNREFUSED`)) });
  }, 300_000);
});
