import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { loadDeploymentKey, type DeploymentKey } from '../../src/platform/crypto/deployment-key';

/**
 * Real FaceMatch deployments on loopback for the federation demo and tests: each its own process, embedded database (under its
 * own DATA_DIR), Ed25519 deployment key (a key file made here, so a test can also sign as it) and TLS certificate issued by a
 * throw-away CA made with openssl. Nothing listens beyond 127.0.0.1.
 */
export const ROOT = path.resolve(__dirname, '../..');

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface TestCa {
  dir: string;
  caPem: string;
  /** A server certificate for 127.0.0.1 / localhost signed by this CA: [certificate file, key file]. */
  issue(name: string): { certFile: string; keyFile: string };
}

/** A CA and its certificates, made with the openssl command line (it must be installed). */
export function makeCa(dir: string): TestCa {
  fs.mkdirSync(dir, { recursive: true });
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=FaceMatch federation test CA');
  return {
    dir,
    caPem: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    issue(name) {
      fs.writeFileSync(path.join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
      ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
      return { certFile: path.join(dir, `${name}.pem`), keyFile: path.join(dir, `${name}.key`) };
    },
  };
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** One HTTPS request trusting `ca`; bodies are JSON, a multipart form (`form`), or raw bytes. */
export function request(
  url: string,
  o: { ca: string; method?: string; auth?: string; json?: unknown; form?: Record<string, string | { file: Buffer; name: string }>; body?: Buffer; headers?: Record<string, string>; timeoutMs?: number },
): Promise<Answer> {
  let body: Buffer | undefined = o.body;
  const headers: Record<string, string> = { ...o.headers };
  if (o.auth) headers.authorization = `Bearer ${o.auth}`;
  if (o.json !== undefined) {
    body = Buffer.from(JSON.stringify(o.json));
    headers['content-type'] = 'application/json';
  }
  if (o.form) {
    const boundary = `----facematch${randomBytes(8).toString('hex')}`;
    const parts: Buffer[] = [];
    for (const [k, v] of Object.entries(o.form)) {
      if (typeof v === 'string') parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
      else parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"; filename="${v.name}"\r\nContent-Type: image/jpeg\r\n\r\n`), v.file, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    body = Buffer.concat(parts);
    headers['content-type'] = `multipart/form-data; boundary=${boundary}`;
  }
  if (body) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: o.method ?? (body ? 'POST' : 'GET'), headers, ca: o.ca, agent: false, timeout: o.timeoutMs ?? 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in time`)));
    req.on('error', reject);
    req.end(body);
  });
}

export interface Deployment {
  name: string;
  jurisdiction: string;
  url: string;
  dir: string;
  key: DeploymentKey;
  keyFile: string;
  admin: string;
  child: ChildProcess | null;
  output(): string;
  call(method: string, p: string, o?: Omit<Parameters<typeof request>[1], 'ca' | 'method'>): Promise<Answer>;
  /** Starts (or restarts) the process and waits for /readyz. */
  start(): Promise<void>;
  /** SIGTERM, then waits for the process to exit. */
  stop(): Promise<void>;
}

/**
 * A deployment in `dir` (its data directory, key file and log), served over TLS on a free loopback port, reachable by partners
 * at FEDERATION_PUBLIC_URL = its https URL. `entry` is src/main.ts (the configured real engine) or a test entry.
 */
export async function createDeployment(o: { name: string; jurisdiction: string; dir: string; ca: TestCa; entry?: string; env?: Record<string, string>; readyTimeoutMs?: number }): Promise<Deployment> {
  fs.mkdirSync(o.dir, { recursive: true });
  const slug = o.name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const tls = o.ca.issue(slug);
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const keyFile = path.join(o.dir, 'deployment-key.pem');
  const key = loadDeploymentKey({ file: fs.existsSync(keyFile) ? keyFile : undefined, dataDir: o.dir });
  const admin = `fm_boot_${randomBytes(16).toString('hex')}`;
  let out = '';
  let exited: Promise<void> = Promise.resolve();
  const d: Deployment = {
    name: o.name,
    jurisdiction: o.jurisdiction,
    url,
    dir: o.dir,
    key,
    keyFile,
    admin,
    child: null,
    output: () => out,
    call: (method, p, opts = {}) => request(url + p, { ...opts, method, ca: o.ca.caPem }),
    async start() {
      const child = spawn(process.execPath, ['--import', 'tsx', o.entry ?? 'src/main.ts'], {
        cwd: ROOT,
        env: {
          ...process.env,
          PORT: String(port),
          HOST: '127.0.0.1',
          DATA_DIR: path.join(o.dir, 'data'),
          DEPLOYMENT_KEY_FILE: keyFile,
          FACEMATCH_BOOTSTRAP_ADMIN_KEY: admin,
          FEDERATION_PUBLIC_URL: url,
          FEDERATION_DEPLOYMENT_NAME: o.name,
          TLS_CERT_FILE: tls.certFile,
          TLS_KEY_FILE: tls.keyFile,
          FACE_WORKERS: '1',
          LOG_LEVEL: 'warn',
          SHUTDOWN_READINESS_DELAY_MS: '0',
          ...o.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      d.child = child;
      child.stdout!.on('data', (c) => (out = (out + c).slice(-20_000)));
      child.stderr!.on('data', (c) => (out = (out + c).slice(-20_000)));
      exited = new Promise((resolve) => child.on('exit', () => resolve()));
      const deadline = Date.now() + (o.readyTimeoutMs ?? 120_000);
      for (;;) {
        if (child.exitCode !== null) throw new Error(`${o.name} exited during start:\n${out.slice(-3000)}`);
        const r = await d.call('GET', '/readyz').catch(() => null);
        if (r?.status === 200) return;
        if (Date.now() > deadline) throw new Error(`${o.name} was not ready in time:\n${out.slice(-3000)}`);
        await new Promise((res) => setTimeout(res, 250));
      }
    },
    async stop() {
      if (d.child && d.child.exitCode === null) d.child.kill('SIGTERM');
      await exited;
      d.child = null;
    },
  };
  return d;
}

/** Makes `a` and `b` partners of each other: each operator registers the other's URL, key and CA. Returns their partner ids. */
export async function introduce(a: Deployment, b: Deployment, ca: string): Promise<{ aKnowsB: string; bKnowsA: string }> {
  const register = async (at: Deployment, other: Deployment) => {
    const r = await at.call('POST', '/v1/federation/partners', {
      auth: at.admin,
      json: { name: other.name, jurisdiction: other.jurisdiction, baseUrl: other.url, publicKey: other.key.publicKeyPem, caCertificate: ca },
    });
    if (r.status !== 201) throw new Error(`${at.name} could not register ${other.name}: ${r.status} ${r.text}`);
    return r.body.id as string;
  };
  return { aKnowsB: await register(a, b), bKnowsA: await register(b, a) };
}
