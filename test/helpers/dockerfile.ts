import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The Dockerfile, read and carried out without a container engine: each stage is a folder, its COPY lines copy exactly the
 * files Docker would send (the build context minus .dockerignore), and its RUN lines run here. Only the RUN commands listed in
 * `runStep` are understood; any other stops the test and says so, so a new Dockerfile line cannot go unchecked.
 *
 * One substitution: `npm ci` installs nothing from the network here; the stage gets a hard-linked copy of this checkout's
 * node_modules, which `npm ci` installed from the same package-lock.json, and `--omit=dev` removes the packages the lockfile
 * marks dev-only, as npm does.
 */
export interface Instruction {
  op: string;
  args: string;
  line: number;
}

export interface Stage {
  name: string;
  from: string;
  steps: Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let l = lines[i]!;
    if (/^\s*(#|$)/.test(l)) continue;
    while (/\\\s*$/.test(l) && i + 1 < lines.length) l = l.replace(/\\\s*$/, ' ') + lines[++i]!.trim();
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`Dockerfile line ${start + 1}: cannot read "${l}"`);
    const op = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`Dockerfile line ${start + 1}: cannot read FROM ${args}`);
      stages.push({ from: f[1]!, name: f[2] ?? String(stages.length), steps: [] });
    } else {
      if (!stages.length) throw new Error(`Dockerfile line ${start + 1}: ${op} before FROM`);
      stages[stages.length - 1]!.steps.push({ op, args, line: start + 1 });
    }
  }
  return stages;
}

/** `*`, `?` and `**` of .dockerignore (Go's filepath.Match plus `**`); a pattern also excludes everything under a match. */
function ignoreMatcher(patterns: string[]): (rel: string) => boolean {
  const rules = patterns.map((p) => {
    const negate = p.startsWith('!');
    const body = path.posix.normalize((negate ? p.slice(1) : p).replace(/^\/+/, ''));
    const re = body
      .split('/')
      .map((seg) => (seg === '**' ? '.*' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
      .join('/');
    return { negate, re: new RegExp(`^${re}(/.*)?$`) };
  });
  return (rel) => rules.reduce((ignored, r) => (r.re.test(rel) ? !r.negate : ignored), false);
}

export interface StageResult {
  dir: string;
  /** ENV of the stage, with absolute container paths mapped into the stage folder. */
  env: Record<string, string>;
  cmd?: string[];
  healthcheck?: string;
  user?: string;
  /** What each RUN did here, for the test's log. */
  log: string[];
}

export interface CarryOutOptions {
  context: string;
  /** Where this checkout's installed node_modules are (the `npm ci` substitution). */
  nodeModules: string;
  /** Folders of stages already carried out, for COPY --from. */
  built: Record<string, StageResult>;
  dir: string;
}

const words = (s: string) => s.split(/\s+/).filter(Boolean);

export function carryOutStage(stage: Stage, o: CarryOutOptions): StageResult {
  const ignored = ignoreMatcher(
    fs.existsSync(path.join(o.context, '.dockerignore'))
      ? fs.readFileSync(path.join(o.context, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
      : [],
  );
  const result: StageResult = { dir: o.dir, env: {}, log: [] };
  let workdir = '/';
  /** A container path inside WORKDIR as a path in the stage folder. */
  const local = (p: string) => {
    const abs = path.posix.resolve(workdir, p);
    if (abs !== '/app' && !abs.startsWith('/app/')) return path.join(o.dir, 'container-root', abs);
    return path.join(o.dir, path.posix.relative('/app', abs));
  };
  fs.mkdirSync(o.dir, { recursive: true });

  const copyFromContext = (src: string, dest: string) => {
    const rel = path.posix.normalize(src).replace(/\/$/, '');
    if (ignored(rel)) throw new Error(`COPY ${src}: excluded by .dockerignore, so Docker would fail here`);
    const from = path.join(o.context, rel);
    if (!fs.existsSync(from)) throw new Error(`COPY ${src}: not in the build context`);
    fs.cpSync(from, dest, { recursive: true, filter: (f) => !ignored(path.relative(o.context, f).split(path.sep).join('/')) });
  };

  for (const s of stage.steps) {
    switch (s.op) {
      case 'WORKDIR':
        workdir = path.posix.resolve(workdir, s.args);
        fs.mkdirSync(local('.'), { recursive: true });
        break;
      case 'ENV': {
        for (const m of s.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) {
          const v = m[2]!.replace(/^"|"$/g, '');
          result.env[m[1]!] = v.startsWith('/') ? local(v) : v;
        }
        break;
      }
      case 'COPY': {
        const parts = s.args.startsWith('[') ? (JSON.parse(s.args) as string[]) : words(s.args);
        const flags = parts.filter((p) => p.startsWith('--'));
        const rest = parts.filter((p) => !p.startsWith('--'));
        const dest = rest.pop()!;
        const fromStage = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
        for (const src of rest) {
          const target = dest.endsWith('/') || rest.length > 1 ? path.join(local(dest), path.basename(src)) : local(dest);
          fs.mkdirSync(path.dirname(target), { recursive: true });
          if (fromStage) {
            const from = o.built[fromStage];
            if (!from) throw new Error(`COPY --from=${fromStage}: no such stage before this one`);
            const srcPath = path.join(from.dir, path.posix.relative('/app', path.posix.resolve('/app', src)));
            if (!fs.existsSync(srcPath)) throw new Error(`COPY --from=${fromStage} ${src}: the ${fromStage} stage made no ${src}`);
            fs.cpSync(srcPath, target, { recursive: true });
          } else copyFromContext(src, target);
        }
        break;
      }
      case 'RUN':
        for (const cmd of s.args.split('&&').map((c) => c.trim())) result.log.push(runStep(cmd, o, result, local));
        break;
      case 'CMD':
        result.cmd = JSON.parse(s.args) as string[];
        break;
      case 'HEALTHCHECK':
        result.healthcheck = s.args.replace(/^.*?\bCMD\s+/, '');
        break;
      case 'USER':
        result.user = s.args;
        break;
      case 'EXPOSE':
      case 'VOLUME':
      case 'LABEL':
        break;
      default:
        throw new Error(`Dockerfile line ${s.line}: ${s.op} is not understood by test/helpers/dockerfile.ts; teach it before using it`);
    }
  }
  return result;
}

function runStep(cmd: string, o: CarryOutOptions, stage: StageResult, local: (p: string) => string): string {
  const w = words(cmd);
  if (w[0] === 'npm' && w[1] === 'ci') {
    if (!fs.existsSync(path.join(o.dir, 'package-lock.json'))) throw new Error('npm ci: no package-lock.json copied before it');
    execFileSync('cp', ['-al', o.nodeModules, path.join(o.dir, 'node_modules')]);
    if (!w.includes('--omit=dev')) return 'npm ci: node_modules from the lockfile (hard links to the checkout\'s install)';
    const lock = JSON.parse(fs.readFileSync(path.join(o.dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const dev = Object.entries(lock.packages).filter(([k, v]) => k.startsWith('node_modules/') && v.dev).map(([k]) => k);
    for (const k of dev) fs.rmSync(path.join(o.dir, k), { recursive: true, force: true });
    return `npm ci --omit=dev: node_modules from the lockfile without its ${dev.length} dev-only packages`;
  }
  if (cmd === 'npm cache clean --force') return 'npm cache clean: nothing cached here';
  if (w[0] === 'npm' && w[1] === 'run') {
    const r = spawnSync('npm', ['run', ...w.slice(2)], { cwd: o.dir, encoding: 'utf8', env: { ...process.env, ...stage.env } });
    if (r.status !== 0) throw new Error(`${cmd} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
    return `${cmd}: ran`;
  }
  if (w[0] === 'mkdir' && w[1] === '-p') {
    for (const d of w.slice(2)) fs.mkdirSync(local(d), { recursive: true });
    return `${cmd}: made`;
  }
  if (w[0] === 'chown') return `${cmd}: skipped (one user here)`;
  // System packages: this machine's own are used (.ci/run installs the same ones); what the stage installs must be here.
  if (w[0] === 'apt-get' && w[1] === 'update') return `${cmd}: skipped (this machine's package lists)`;
  if (w[0] === 'apt-get' && w[1] === 'install') {
    const pkgs = w.slice(2).filter((x) => !x.startsWith('-'));
    const missing = pkgs.filter((p) => spawnSync(p === 'ffmpeg' ? 'ffmpeg' : 'dpkg', p === 'ffmpeg' ? ['-version'] : ['-s', p], { encoding: 'utf8' }).status !== 0);
    return missing.length ? `${cmd}: ${missing.join(', ')} not installed on this machine (the stage would have it)` : `${cmd}: present on this machine`;
  }
  if (cmd === 'rm -rf /var/lib/apt/lists/*') return `${cmd}: skipped (this machine's package lists stay)`;
  throw new Error(`RUN ${cmd}: not understood by test/helpers/dockerfile.ts; teach it before using it`);
}
