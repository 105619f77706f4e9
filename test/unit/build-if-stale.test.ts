import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** `npm start` builds first only when a build input changed after the last complete build (bin/build.js --if-stale). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { staleReason, SOURCES } = require('../../bin/build.js') as { staleReason(dir: string): string | null; SOURCES: string[] };

describe('bin/build.js --if-stale', () => {
  let dir: string;
  const at = (f: string, seconds: number) => {
    const p = path.join(dir, f);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (!fs.existsSync(p)) fs.writeFileSync(p, '');
    fs.utimesSync(p, seconds, seconds);
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'build-stale-'));
    for (const f of ['src/main.ts', 'scripts/keys.ts', 'console/main.tsx', 'tsconfig.json', 'package-lock.json']) at(f, 1_000);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('builds a fresh clone (no complete build yet)', () => {
    at('dist/src/main.js', 2_000);
    expect(staleReason(dir)).toBe('no complete build in dist/ yet');
  });

  it('does nothing while every input is older than the last build', () => {
    at('dist/.build-stamp', 2_000);
    expect(staleReason(dir)).toBeNull();
  });

  it.each(['src/platform/http/app.ts', 'console/views/keys.tsx', 'scripts/lib/csv.ts', 'package-lock.json', 'tsconfig.build.json'])(
    'rebuilds when %s changed after the last build',
    (f) => {
      at('dist/.build-stamp', 2_000);
      at(f, 3_000);
      expect(staleReason(dir)).toBe(`${f} changed since the last build`);
    },
  );

  it('never builds where no sources are shipped (the runtime image)', () => {
    fs.rmSync(path.join(dir, 'src'), { recursive: true });
    expect(staleReason(dir)).toBeNull();
  });

  it('watches what the Dockerfile build stage copies', () => {
    const dockerfile = fs.readFileSync(path.resolve(__dirname, '../../Dockerfile'), 'utf8').split(/^FROM /m)[1]!;
    for (const s of SOURCES) expect({ s, copied: new RegExp(`^COPY .*\\b${s.replace('.', '\\.')}\\b`, 'm').test(dockerfile) }).toEqual({ s, copied: true });
  });
});
