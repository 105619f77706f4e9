import { generateKeyPairSync, randomUUID, sign, createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createDeployment, introduce, makeCa, type Answer, type Deployment, type TestCa } from '../../scripts/lib/deployments';
import { ed25519KeyId, parseEd25519PublicKey } from '../../src/platform/crypto/deployment-key';
import { signAnswer, signRequest, type Signer } from '../../src/modules/federation/federation.signing';
import { createContractChecker, type ContractChecker } from '../helpers/contract';
import { seededPng } from '../helpers/fake-engine';

/**
 * Three real service processes on loopback (src/serve.ts with the stand-in engine: this is about the channel, grants and
 * audit, not the model): a US state attorney general (A), a Mexican state prosecutor (B) and a bank (C), each with its own
 * embedded database, Ed25519 key and TLS certificate from a CA made here with openssl. Partners register each other; B's
 * owner grants, revokes; A searches. Signed requests are also made by hand (as A, whose key file the test made) to show
 * every refusal; stand-in partners served from this process answer too slowly, too much or garbage. Every answer of every
 * deployment is checked against that deployment's /openapi.json. No timed assertions: waits are bounded polls.
 */
const openssl = (() => {
  try {
    require('node:child_process').execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    process.stderr.write('note: test/integration/federation.test.ts needs the openssl command to make its CA; skipped.\n');
    return false;
  }
})();

const TIMEOUT_MS = 3000;

(openssl ? describe : describe.skip)('federation between three deployments', () => {
  let dir: string;
  let ca: TestCa;
  let A: Deployment;
  let B: Deployment;
  let C: Deployment;
  const checkers = new Map<Deployment, ContractChecker>();
  const keys: Record<string, string> = {};
  const ids: Record<string, string> = {};
  const probe: { file: Buffer; name: string } = { file: Buffer.alloc(0), name: 'probe.png' };
  const hooks: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  let hookServer: http.Server;
  const fakes: https.Server[] = [];

  /** Calls `d` and checks the answer against its OpenAPI document. */
  async function call(d: Deployment, method: string, p: string, o: Parameters<Deployment['call']>[2] = {}): Promise<Answer> {
    const r = await d.call(method, p, o);
    const problem = checkers.get(d)?.({ method, path: p.split('?')[0]!, status: r.status, contentType: String(r.headers['content-type'] ?? ''), body: r.body, text: r.text });
    if (problem) throw new Error(`OpenAPI contract: ${problem}`);
    return r;
  }

  const search = (fields: Record<string, string>, auth = keys.aSearcher!) =>
    call(A, 'POST', '/v1/searches', { auth, form: { image: probe, purpose: 'cartel money-laundering network', caseRef: 'TX-2026-0142', ...fields } });
  const partnerOf = (r: Answer, name: string) => (r.body.federation.partners as Array<{ name: string; status: string; reason?: string; answer?: any }>).find((x) => x.name === name)!; // eslint-disable-line @typescript-eslint/no-explicit-any

  const signerOf = (d: Deployment): Signer => ({ keyId: d.key.keyId, sign: (b) => d.key.sign(b) });
  const searchBody = (over: Record<string, unknown> = {}) => ({
    requestId: randomUUID(),
    mode: 'screening',
    purpose: 'hand-made request',
    caseRef: 'TEST-1',
    requester: { organization: 'oag', holder: 'test' },
    topK: 5,
    faces: [{ faceIndex: 0, chip: Buffer.from(`crop of ${createHash('sha256').update(probe.file).digest('hex')}`).toString('base64') }],
    ...over,
  });
  /** A signed request to B's search route as `signer` (default A), sent as is or after `tamper`. */
  async function signedToB(o: { body?: Buffer; signer?: Signer; now?: Date; tamper?: (h: Record<string, string>, b: Buffer) => Buffer; headers?: Record<string, string> } = {}) {
    const body = o.body ?? Buffer.from(JSON.stringify(searchBody()));
    const targetUri = `${B.url}/federation/v1/search`;
    const headers = signRequest(o.signer ?? signerOf(A), { method: 'POST', targetUri, body, now: o.now ?? new Date() });
    const sent = o.tamper ? o.tamper(headers, body) : body;
    const send = () => call(B, 'POST', '/federation/v1/search', { body: sent, headers: { ...headers, ...o.headers } });
    return { first: await send(), again: send };
  }

  async function auditEvents(d: Deployment, type: string): Promise<Array<{ type: string; payload: any; searchId: string | null; context: { purpose: string | null; caseRef: string | null } }>> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const r = await call(d, 'GET', `/v1/audit/events?type=${type}&limit=1000`, { auth: keys[`auditor:${d.name}`] });
    expect(r.status).toBe(200);
    return r.body.items;
  }

  async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
    for (let i = 0; i < 200; i++) {
      const v = await check().catch(() => undefined);
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`gave up waiting: ${what}`);
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'federation-test-'));
    ca = makeCa(path.join(dir, 'ca'));
    probe.file = await seededPng(4242);
    const env = { NODE_ENV: 'test', OUTBOUND_ALLOW_LOOPBACK_FOR_TESTS: 'true', OUTBOUND_ALLOW_HTTP: 'true', FEDERATION_TIMEOUT_MS: String(TIMEOUT_MS), FEDERATION_MAX_REQUEST_BYTES: String(64 * 1024) };
    const entry = 'test/helpers/federation-node.ts';
    A = await createDeployment({ name: 'Texas Office of the Attorney General', jurisdiction: 'US-TX', dir: path.join(dir, 'a'), ca, entry, env });
    B = await createDeployment({ name: 'Fiscalía del Estado de Jalisco', jurisdiction: 'MX-JAL', dir: path.join(dir, 'b'), ca, entry, env });
    // The bank ends a rotated key at once (no overlap), the others keep the default week.
    C = await createDeployment({ name: 'Banco Fronterizo', jurisdiction: 'MX', dir: path.join(dir, 'c'), ca, entry, env: { ...env, FEDERATION_KEY_OVERLAP_SECONDS: '0' } });
    await Promise.all([A.start(), B.start(), C.start()]);
    for (const d of [A, B, C]) checkers.set(d, createContractChecker((await d.call('GET', '/openapi.json')).body));
    hookServer = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        hooks.push({ headers: req.headers, body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
  }, 240_000);

  afterAll(async () => {
    await Promise.all([A, B, C].map((d) => d?.stop()));
    for (const f of fakes) f.close();
    await new Promise((r) => hookServer?.close(r));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('publishes each deployment key at the well-known route; operators register each other (operator only)', async () => {
    const wk = await call(B, 'GET', '/.well-known/facematch-federation');
    expect(wk.body).toMatchObject({ name: B.name, federation: true, publicUrl: B.url, algorithm: 'ed25519', keyId: B.key.keyId });
    const ab = await introduce(A, B, ca.caPem);
    const ac = await introduce(A, C, ca.caPem);
    const bc = await introduce(B, C, ca.caPem);
    Object.assign(ids, { bOnA: ab.aKnowsB, aOnB: ab.bKnowsA, cOnA: ac.aKnowsB, aOnC: ac.bKnowsA, cOnB: bc.aKnowsB });

    const mk = async (d: Deployment, roles: string[], organization: string, holder: string) => (await call(d, 'POST', '/v1/keys', { auth: d.admin, json: { roles, organization, holder } })).body.key as string;
    keys.aSearcher = await mk(A, ['searcher'], 'tx-oag', 'Investigator Ruiz');
    keys.aAdmin = await mk(A, ['admin'], 'tx-oag', 'Admin TX');
    keys.bEnroller = await mk(B, ['enroller', 'admin', 'reviewer'], 'fge-jal', 'Analista Pérez');
    for (const d of [A, B, C]) keys[`auditor:${d.name}`] = await mk(d, ['auditor'], '*', `Auditor of ${d.name}`);
    const refused = await call(A, 'POST', '/v1/federation/partners', { auth: keys.aAdmin, json: { name: 'X', jurisdiction: 'X', baseUrl: B.url, publicKey: B.key.publicKeyPem } });
    expect([refused.status, refused.body.error.code]).toEqual([403, 'FORBIDDEN']);
    const dup = await call(A, 'POST', '/v1/federation/partners', { auth: A.admin, json: { name: 'Again', jurisdiction: 'X', baseUrl: B.url, publicKey: B.key.publicKeyPem } });
    expect(dup.status).toBe(409);
  });

  it("B's owner enrols a subject; before any grant A's search finds nothing of B (status ok, no candidates)", async () => {
    const wl = await call(B, 'POST', '/v1/watchlists', { auth: keys.bEnroller, json: { name: 'lavado-jalisco', jurisdiction: 'MX-JAL', legalBasis: 'CNPP art. 251' } });
    ids.watchlist = wl.body.id;
    ids.other = (await call(B, 'POST', '/v1/watchlists', { auth: keys.bEnroller, json: { name: 'reservada', jurisdiction: 'MX-JAL', legalBasis: 'interna' } })).body.id;
    const s = await call(B, 'POST', '/v1/subjects', { auth: keys.bEnroller, json: { displayName: 'Juan Ejemplo', category: 'money_laundering', watchlist: 'lavado-jalisco', legalBasis: 'orden judicial 17/2026' } });
    ids.subject = s.body.id;
    expect((await call(B, 'POST', `/v1/subjects/${ids.subject}/faces`, { auth: keys.bEnroller, form: { image: probe } })).status).toBe(201);
    expect((await call(B, 'PUT', '/v1/webhooks', { auth: keys.bEnroller, json: { url: `http://127.0.0.1:${(hookServer.address() as net.AddressInfo).port}/hits`, secret: `whsec_${Buffer.from('federation-test-webhook-secret!!').toString('base64')}` } })).status).toBe(200);

    const r = await search({ mode: 'screening', partners: 'all' });
    expect(r.status).toBe(200);
    expect(r.body.faces[0].candidates).toEqual([]);
    const b = partnerOf(r, B.name);
    expect(b.status).toBe('ok');
    expect(b.answer.faces[0]).toMatchObject({ hit: false, candidates: [] });
  });

  it('after a screen grant, screening finds the subject as a hit with a reference and contact only; the owner gets a notice (inbox and webhook)', async () => {
    const g = await call(B, 'POST', '/v1/federation/grants', { auth: keys.bEnroller, json: { watchlist: 'lavado-jalisco', partner: ids.aOnB, access: 'screen', contact: 'Unidad de Inteligencia, +52 33 0000 0000' } });
    expect(g.status).toBe(201);
    ids.screenGrant = g.body.id;
    const r = await search({ mode: 'screening', partners: B.name });
    const b = partnerOf(r, B.name);
    expect(b.status).toBe('ok');
    const [hit] = b.answer.faces[0].candidates;
    expect(b.answer.faces[0].hit).toBe(true);
    expect(Object.keys(hit).sort()).toEqual(['contact', 'rank', 'reference']);
    expect(hit.contact).toMatch(/Unidad de Inteligencia/);
    ids.requestId = r.body.federation.requestId;

    const notice = await until('a notice at B', async () => {
      const items = (await call(B, 'GET', '/v1/notifications', { auth: keys.bEnroller })).body.items as Array<{ federation?: { requestId: string } }>;
      return items.find((n) => n.federation?.requestId === ids.requestId);
    });
    expect(notice).toMatchObject({ subjectId: ids.subject, federation: { partner: A.name, jurisdiction: 'US-TX', organization: 'tx-oag', holder: 'Investigator Ruiz' } });
    const hook = await until('the webhook delivery', async () => hooks.find((h) => h.body.includes(ids.requestId!)));
    expect(JSON.parse(hook.body)).toMatchObject({ subjectId: ids.subject, federation: { requestId: ids.requestId } });
  });

  it('both audit chains carry the same federation request id (requester: partners, purpose, caseRef, holder; answerer: who asked and what was answered), and both verify', async () => {
    const req = (await auditEvents(A, 'federation.requested')).find((e) => e.payload.requestId === ids.requestId)!;
    // Purpose and case enter both chains as HMACs (OVERSIGHT.md, "Free text stays out of the chain"); the timeline shows the text.
    const hmacs = { purposeHmac: expect.stringMatching(/^[0-9a-f]{64}$/), caseRefHmac: expect.stringMatching(/^[0-9a-f]{64}$/) };
    const stated = { purpose: 'cartel money-laundering network', caseRef: 'TX-2026-0142' };
    expect(req.payload).toMatchObject({ ...hmacs, holder: 'Investigator Ruiz', partners: [{ partnerId: ids.bOnA, name: B.name }] });
    expect(req.payload).not.toHaveProperty('purpose');
    expect(req.context).toMatchObject(stated);
    const done = (await auditEvents(A, 'federation.completed')).find((e) => e.payload.requestId === ids.requestId)!;
    expect(done.payload.partners[0]).toMatchObject({ partnerId: ids.bOnA, status: 'ok', faces: [{ hit: true, candidates: 1 }] });
    const answered = (await auditEvents(B, 'federation.answered')).find((e) => e.payload.requestId === ids.requestId)!;
    expect(answered.payload).toMatchObject({ partner: { id: ids.aOnB, name: A.name }, requester: { organization: 'tx-oag', holder: 'Investigator Ruiz' }, ...hmacs, mode: 'screening' });
    expect(answered.context).toMatchObject(stated);
    expect(answered.payload.faces[0].candidates[0]).toMatchObject({ subjectId: ids.subject, disclosed: { names: false, crops: false } });
    const run = (await auditEvents(B, 'search.run')).find((e) => e.searchId === answered.searchId)!;
    expect(run.payload.federation).toMatchObject({ requestId: ids.requestId, partnerId: ids.aOnB });
    for (const d of [A, B]) expect((await call(d, 'GET', '/v1/audit/verify', { auth: keys[`auditor:${d.name}`] })).body.ok).toBe(true);
    const stored = await call(A, 'GET', `/v1/federation/requests/${ids.requestId}`, { auth: keys.aSearcher });
    expect(stored.body).toMatchObject({ id: ids.requestId, holder: 'Investigator Ruiz', partners: [{ status: 'ok' }] });
  });

  it('an investigative search under a screen grant sees nothing of the partner', async () => {
    const b = partnerOf(await search({ partners: B.name }), B.name);
    expect(b.status).toBe('ok');
    expect(b.answer.faces[0].candidates).toEqual([]);
  });

  it('after a search grant with names and crops, candidates come back ranked with similarity and calibrated false-match rate', async () => {
    expect((await call(B, 'DELETE', `/v1/federation/grants/${ids.screenGrant}`, { auth: keys.bEnroller })).body.revokedAt).not.toBeNull();
    const g = await call(B, 'POST', '/v1/federation/grants', {
      auth: keys.bEnroller,
      json: { watchlist: ids.watchlist, partner: A.name, access: 'search', discloseNames: true, discloseCrops: true, contact: 'Fiscal Regional', expiresAt: new Date(Date.now() + 86_400_000).toISOString() },
    });
    expect(g.status).toBe(201);
    ids.searchGrant = g.body.id;
    const r = await search({ partners: B.name });
    const [c] = partnerOf(r, B.name).answer.faces[0].candidates;
    expect(c).toMatchObject({ rank: 1, displayName: 'Juan Ejemplo', watchlist: 'lavado-jalisco', category: 'money_laundering', contact: 'Fiscal Regional' });
    expect(c.similarity).toBeGreaterThan(0.99);
    expect(c.estimatedFalseMatchRate).toBeLessThan(1e-4);
    expect(typeof c.faceCrop).toBe('string');
    const catalog = await call(A, 'GET', `/v1/federation/partners/${ids.bOnA}/catalog`, { auth: keys.aSearcher });
    expect(catalog.body).toMatchObject({ status: 'ok', grants: [{ watchlistId: ids.watchlist, access: 'search', watchlist: 'lavado-jalisco' }] });
  });

  it('a watchlist that is not granted answers exactly as one that does not exist', async () => {
    const ask = async (id: string) => (await signedToB({ body: Buffer.from(JSON.stringify(searchBody({ watchlists: [id] }))) })).first;
    const notGranted = await ask(ids.other!);
    const missing = await ask(randomUUID());
    expect(notGranted.status).toBe(400);
    const shape = (a: Answer, id: string) => JSON.stringify({ ...a.body, requestId: null }).replaceAll(id, '<id>');
    expect(shape(notGranted, ids.other!)).toBe(shape(missing, missing.body.error.details.unknown[0]));
    expect(notGranted.body.error.code).toBe('UNKNOWN_WATCHLIST');
    expect((await ask(ids.watchlist!)).status).toBe(200);
  });

  it('refuses unsigned, unknown-key, expired, replayed and altered requests with 401 and a code, and audits each refusal', async () => {
    const unsigned = await call(B, 'POST', '/federation/v1/search', { json: searchBody() });
    expect([unsigned.status, unsigned.body.error.code]).toEqual([401, 'FEDERATION_SIGNATURE_MISSING']);

    const stranger = generateKeyPairSync('ed25519');
    const strangerSigner = { keyId: ed25519KeyId(stranger.publicKey), sign: (b: Buffer) => sign(null, b, stranger.privateKey) };
    expect((await signedToB({ signer: strangerSigner })).first.body.error.code).toBe('FEDERATION_UNKNOWN_KEY');

    expect((await signedToB({ now: new Date(Date.now() - 3600_000) })).first.body.error.code).toBe('FEDERATION_SIGNATURE_EXPIRED');
    expect((await signedToB({ now: new Date(Date.now() + 3600_000) })).first.body.error.code).toBe('FEDERATION_SIGNATURE_EXPIRED');

    const ok = await signedToB();
    expect(ok.first.status).toBe(200);
    const replay = await ok.again();
    expect([replay.status, replay.body.error.code]).toEqual([401, 'FEDERATION_REPLAYED']);

    const altered = await signedToB({ tamper: (_h, b) => Buffer.from(b.toString().replace('hand-made request', 'something else!!')) });
    expect(altered.first.body.error.code).toBe('FEDERATION_DIGEST_MISMATCH');
    const redigested = await signedToB({
      tamper: (h, b) => {
        const nb = Buffer.from(b.toString().replace('TEST-1', 'TEST-2'));
        h['content-digest'] = `sha-256=:${createHash('sha256').update(nb).digest('base64')}:`;
        return nb;
      },
    });
    expect(redigested.first.body.error.code).toBe('FEDERATION_SIGNATURE_INVALID');
    // Signed for another deployment (C's URL): refused by B, which reconstructs @target-uri from its own public URL.
    const body = Buffer.from(JSON.stringify(searchBody()));
    const forC = signRequest(signerOf(A), { method: 'POST', targetUri: `${C.url}/federation/v1/search`, body, now: new Date() });
    expect((await call(B, 'POST', '/federation/v1/search', { body, headers: forC })).body.error.code).toBe('FEDERATION_SIGNATURE_INVALID');

    const codes = (await auditEvents(B, 'federation.refused')).map((e) => e.payload.code);
    for (const c of ['FEDERATION_SIGNATURE_MISSING', 'FEDERATION_UNKNOWN_KEY', 'FEDERATION_SIGNATURE_EXPIRED', 'FEDERATION_REPLAYED', 'FEDERATION_DIGEST_MISMATCH', 'FEDERATION_SIGNATURE_INVALID']) expect(codes).toContain(c);
    // Every answer is signed by B, refusals included (the requester can tell B said no from a forged no).
    expect(String(replay.headers['signature-input'])).toMatch(/^facematch=\("@status" "content-digest" "date" "@method";req "@target-uri";req "signature";key="facematch";req\)/);
  });

  it('oversized and malformed federation bodies get 413 and 400 with codes', async () => {
    const big = await signedToB({ body: Buffer.from(JSON.stringify(searchBody({ purpose: 'x'.repeat(70 * 1024) }))) });
    expect([big.first.status, big.first.body.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    const garbage = await signedToB({ body: Buffer.from('{"requestId": nope') });
    expect([garbage.first.status, garbage.first.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const extra = await signedToB({ body: Buffer.from(JSON.stringify(searchBody({ everything: true }))) });
    expect([extra.first.status, extra.first.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it("a rotated key's old signatures are refused after the overlap (none at the bank, a week at B)", async () => {
    const next = generateKeyPairSync('ed25519');
    const nextSigner = { keyId: ed25519KeyId(next.publicKey), sign: (b: Buffer) => sign(null, b, next.privateKey) };
    const pem = next.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const atC = await call(C, 'POST', `/v1/federation/partners/${ids.aOnC}/keys`, { auth: C.admin, json: { publicKey: pem } });
    expect(atC.body.keys.find((k: { keyId: string }) => k.keyId === A.key.keyId).validUntil).not.toBeNull();
    const toC = async (signer: Signer) => {
      const body = Buffer.from(JSON.stringify(searchBody()));
      const headers = signRequest(signer, { method: 'POST', targetUri: `${C.url}/federation/v1/search`, body, now: new Date() });
      return call(C, 'POST', '/federation/v1/search', { body, headers });
    };
    expect((await toC(signerOf(A))).body.error.code).toBe('FEDERATION_KEY_RETIRED');
    expect((await toC(nextSigner)).status).toBe(200);
    // B keeps the old key for the overlap: both sign.
    await call(B, 'POST', `/v1/federation/partners/${ids.aOnB}/keys`, { auth: B.admin, json: { publicKey: pem } });
    expect((await signedToB()).first.status).toBe(200);
    expect((await signedToB({ signer: nextSigner })).first.status).toBe(200);
  });

  it('after revocation the next search finds nothing of the partner', async () => {
    expect((await call(B, 'DELETE', `/v1/federation/grants/${ids.searchGrant}`, { auth: keys.bEnroller })).status).toBe(200);
    const b = partnerOf(await search({ partners: B.name }), B.name);
    expect([b.status, b.answer.faces[0].candidates]).toEqual(['ok', []]);
    expect(partnerOf(await search({ mode: 'screening', partners: B.name }), B.name).answer.faces[0].hit).toBe(false);
  });

  it('partners that hang, answer too much, answer signed garbage or answer unsigned get their status, never a 500', async () => {
    const fake = async (name: string, handler: (req: http.IncomingMessage, res: http.ServerResponse, signer: Signer, base: string) => void) => {
      const k = generateKeyPairSync('ed25519');
      const signer = { keyId: ed25519KeyId(k.publicKey), sign: (b: Buffer) => sign(null, b, k.privateKey) };
      const tls = ca.issue(name);
      const server = https.createServer({ cert: fs.readFileSync(tls.certFile), key: fs.readFileSync(tls.keyFile) }, (req, res) => handler(req, res, signer, base));
      fakes.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const base = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      const r = await call(A, 'POST', '/v1/federation/partners', { auth: A.admin, json: { name, jurisdiction: 'XX', baseUrl: base, publicKey: k.publicKey.export({ format: 'pem', type: 'spki' }).toString(), caCertificate: ca.caPem } });
      expect(r.status).toBe(201);
      expect(parseEd25519PublicKey(r.body.keys[0].publicKeyPem)).toBeTruthy();
    };
    const signedReply = (req: http.IncomingMessage, res: http.ServerResponse, signer: Signer, base: string, status: number, body: Buffer) => {
      const h = signAnswer(signer, { status, body, now: new Date() }, { method: req.method!, targetUri: `${base}${req.url}`, headers: req.headers });
      res.writeHead(status, { ...h, 'content-type': 'application/json' }).end(body);
    };
    await fake('hangs', (req) => req.resume());
    await fake('floods', (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (res.write(chunk)) if (res.destroyed) return;
        res.once('drain', pump);
      };
      pump();
      res.on('error', () => undefined);
    });
    await fake('garbage', (req, res, signer, base) => {
      req.resume();
      req.on('end', () => signedReply(req, res, signer, base, 200, Buffer.from('{"faces": "not what you asked"}')));
    });
    await fake('unsigned', (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    const r = await search({ partners: 'hangs,floods,garbage,unsigned' });
    expect(r.status).toBe(200);
    expect(r.body.faces).toHaveLength(1);
    const status = (n: string) => [partnerOf(r, n).status, partnerOf(r, n).reason];
    expect(status('hangs')).toEqual(['timeout', 'DEADLINE']);
    expect(status('floods')).toEqual(['refused', 'ANSWER_TOO_LARGE']);
    expect(status('garbage')).toEqual(['refused', 'ANSWER_MALFORMED']);
    expect(status('unsigned')).toEqual(['refused', 'ANSWER_SIGNATURE_INVALID']);
    for (const n of ['hangs', 'floods', 'garbage', 'unsigned']) {
      const id = (await call(A, 'GET', '/v1/federation/partners', { auth: A.admin })).body.items.find((p: { name: string }) => p.name === n).id;
      expect((await call(A, 'DELETE', `/v1/federation/partners/${id}`, { auth: A.admin })).status).toBe(204);
    }
  });

  it('with one partner stopped the local result still comes back, that partner unreachable; unknown partners are 400', async () => {
    await C.stop();
    const r = await search({ partners: 'all', mode: 'screening' });
    expect(r.status).toBe(200);
    expect(r.body.searchId).toMatch(/^[0-9a-f-]{36}$/);
    expect(partnerOf(r, C.name)).toMatchObject({ status: 'unreachable', reason: 'CONNECT_FAILED' });
    expect(partnerOf(r, B.name).status).toBe('ok');
    const unknown = await search({ partners: 'nobody' });
    expect([unknown.status, unknown.body.error.code]).toEqual([400, 'UNKNOWN_PARTNER']);
    for (const d of [A, B]) expect((await call(d, 'GET', '/v1/audit/verify', { auth: keys[`auditor:${d.name}`] })).body.ok).toBe(true);
  });
});
