import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/platform/project-root';
import { REFERENCES, configTable } from '../../scripts/lib/references';
import { configSchema } from '../../src/config';

/**
 * The checked-in generated references (docs/configuration.md's settings table, docs/openapi.json) are what the code generates
 * now: a setting or a route added without `npm run docs:generate` fails here.
 */
describe('generated references', () => {
  it.each(REFERENCES.map((r) => [r.file, r] as const))('%s is up to date (else: npm run docs:generate)', async (file, ref) => {
    const current = readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
    const expected = await ref.expected(current);
    // Compared line by line so a failure names the stale lines rather than two 500 kB strings.
    expect(current.split('\n')).toEqual(expected.split('\n'));
  });

  it('lists every setting of the schema once, with its default and bounds', () => {
    const table = configTable();
    for (const key of Object.keys(configSchema.shape)) expect({ key, rows: table.split('\n').filter((l) => l.startsWith(`| \`${key}\` |`)).length }).toEqual({ key, rows: 1 });
    expect(table).toContain('| `PORT` | `8080` | integer 0 … 65535 |');
    expect(table).toMatch(/\| `FACE_WORKERS` \| computed at start \| integer 1 … 64 \|/);
    expect(table).toMatch(/\| `DATABASE_URL` \| unset \| URL \|/);
  });

  it('refuses a setting without a comment saying what it does', async () => {
    // The check reads the source: a copy of config.ts with one comment removed must be refused, naming the key.
    const source = readFileSync(path.join(PROJECT_ROOT, 'src/config.ts'), 'utf8');
    expect(source).toContain('/** TCP port the HTTP(S) server listens on');
    const { commentsOf } = await import('../../scripts/lib/references');
    const stripped = source.replace(/\/\*\* TCP port the HTTP\(S\) server listens on[^*]*\*\/\n/, '');
    expect(commentsOf(stripped).get('PORT')?.doc).toBe('');
    expect(commentsOf(source).get('PORT')?.doc).toMatch(/^TCP port/);
  });
});
