import fs from 'node:fs';
import path from 'node:path';

/**
 * compose.yaml and the Dockerfile, read as an operator's tools would (no Docker engine runs here, so they are parsed and
 * checked, not started). YAML is parsed with js-yaml, which jest's own dependencies bring (not a dependency of FaceMatch).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require('js-yaml') as { load(text: string): unknown };

const ROOT = path.resolve(__dirname, '../..');
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  restart?: string;
  command?: string[];
  entrypoint?: string[];
  env_file?: string | string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}
const compose = yaml.load(read('compose.yaml')) as { services: Record<string, Service> };
const services = compose.services;
const envFiles = (s: Service) => [s.env_file ?? []].flat();
/** KEY=value lines of a committed example env file. */
const exampleEnv = (file: string) =>
  Object.fromEntries(
    read(`${file}.example`)
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

describe('compose.yaml', () => {
  it('pins a pgvector/pgvector image with pgvector 0.8 or newer', () => {
    const images = Object.values(services).map((s) => s.image).filter((i): i is string => !!i);
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) {
      const m = /^pgvector\/pgvector:(\d+)\.(\d+)\.(\d+)-pg(\d+)$/.exec(image);
      expect({ image, pinned: !!m }).toEqual({ image, pinned: true });
      const [major, minor] = [Number(m![1]), Number(m![2])];
      expect(major > 0 || minor >= 8).toBe(true);
      expect(Number(m![4])).toBeGreaterThanOrEqual(15);
    }
  });

  it('restarts the database and the service, and runs the migrate and grants steps once', () => {
    expect(services.db!.restart).toBe('unless-stopped');
    expect(services.facematch!.restart).toBe('unless-stopped');
    expect(services.migrate!.restart).toBe('no');
    expect(services.grants!.restart).toBe('no');
  });

  it('publishes ports on localhost only', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const p of s.ports ?? []) expect({ name, port: p }).toEqual({ name, port: expect.stringMatching(/^127\.0\.0\.1:\d+:\d+$/) });
    }
    expect(services.facematch!.ports).toEqual(['127.0.0.1:8080:8080']);
    expect(services.db!.ports).toBeUndefined();
  });

  it('keeps secrets in env files that git and the Docker build context ignore, never in the YAML', () => {
    const secret = /PASSWORD|_KEY$|DATABASE_URL|SECRET|TOKEN/;
    for (const [name, s] of Object.entries(services)) {
      expect({ name, inline: Object.keys(s.environment ?? {}).filter((k) => secret.test(k)) }).toEqual({ name, inline: [] });
    }
    expect(read('compose.yaml')).not.toMatch(/postgres(ql)?:\/\/[^@\s]*:[^@\s]*@/);
    for (const file of Object.values(services).flatMap(envFiles)) {
      expect(fs.existsSync(path.join(ROOT, `${file}.example`))).toBe(true);
      expect(read('.gitignore').split('\n')).toContain('deploy/*.env');
      expect(read('.dockerignore').split('\n')).toContain('deploy/*.env');
    }
    expect(exampleEnv('deploy/service.env')).toEqual({ DATABASE_URL: expect.any(String), FACEMATCH_ENCRYPTION_KEY: '', FACEMATCH_BOOTSTRAP_ADMIN_KEY: '' });
  });

  it('runs the service as the least-privilege role, after a one-shot migrate and grant step as the owner', () => {
    const userOf = (envFile: string) => new URL(exampleEnv(envFile).DATABASE_URL!).username;
    expect(envFiles(services.migrate!)).toEqual(['deploy/migrate.env']);
    expect(userOf('deploy/migrate.env')).toBe('facematch_owner');
    expect(envFiles(services.facematch!)).toEqual(['deploy/service.env']);
    expect(userOf('deploy/service.env')).toBe('facematch_service');
    expect(services.migrate!.command).toEqual(['npm', 'run', 'migrate']);
    expect(services.migrate!.depends_on).toEqual({ db: { condition: 'service_healthy' } });
    expect(envFiles(services.grants!)).toEqual(['deploy/migrate.env']);
    expect(services.grants!.depends_on).toEqual({ migrate: { condition: 'service_completed_successfully' } });
    expect(services.facematch!.depends_on).toEqual({ grants: { condition: 'service_completed_successfully' } });
    expect(services.facematch!.environment).toEqual({ MIGRATE_ON_START: 'false' });
  });

  it('grants what docs/OVERSIGHT.md grants: the service role gets data access, insert-only audit tables, no DDL', () => {
    const init = read('deploy/postgres-init/01-roles.sh');
    expect(init).toMatch(/CREATE ROLE facematch_owner LOGIN/);
    expect(init).toMatch(/CREATE ROLE facematch_service LOGIN/);
    expect(init).toMatch(/CREATE DATABASE facematch OWNER facematch_owner/);
    expect(init).toMatch(/REVOKE ALL ON SCHEMA public FROM PUBLIC/);
    const grants = read('deploy/grant-service-role.sql');
    expect(grants).toMatch(/^GRANT USAGE ON SCHEMA public TO facematch_service;$/m);
    expect(grants).toMatch(/^REVOKE UPDATE, DELETE, TRUNCATE ON audit_event, audit_anchor FROM facematch_service;/m);
    expect(grants).not.toMatch(/GRANT (ALL|CREATE)/);
    for (const v of services.grants!.volumes ?? []) expect(fs.existsSync(path.join(ROOT, v.split(':')[0]!))).toBe(true);
    for (const v of services.db!.volumes ?? []) if (v.startsWith('./')) expect(fs.existsSync(path.join(ROOT, v.split(':')[0]!))).toBe(true);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const runtime = stages[stages.length - 1]!;

  it('is multi-stage on a glibc (Debian slim) base, with production dependencies only in the runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s).toMatch(/^node:\d+-bookworm-slim\b/);
    expect(runtime).toMatch(/^RUN npm ci --omit=dev\b/m);
  });

  it('runs as a non-root user with a HEALTHCHECK on /readyz', () => {
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^HEALTHCHECK [\s\S]*\/readyz/m);
  });
});
