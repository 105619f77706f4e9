/**
 * Three federated deployments on loopback, end to end (docs/federation.md):
 *
 *   npm run federation-demo [-- --datasets ../shared/datasets] [--keep]
 *
 * Each deployment is its own process with its own embedded database, Ed25519 key and TLS certificate
 * (from a CA made here with openssl), running the configured real face engine: a US state attorney general (the requester), a
 * Mexican state prosecutor and a bank (data owners). Operators register each other; the prosecutor grants, the attorney
 * general searches with real photos (a person's second photo against their first, enrolled at the prosecutor), a replayed and
 * a tampered request are refused, the grant is revoked, the bank is stopped. Prints one JSON object on its last line,
 *   {"deployments": [{"name", "jurisdiction", "auditChainOk"}], "steps": [{"step", "expected", "observed", "ok"}]}
 * and exits non-zero when any step is not ok. Photos: deepface/ of the datasets folder, else face-api's demo photos.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { createDeployment, introduce, makeCa, ROOT, type Answer, type Deployment } from './lib/deployments';
import { signRequest } from '../src/modules/federation/federation.signing';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const log = (s: string) => process.stderr.write(`${s}\n`);

/** Two photos of one person (enrolled, probe) and one photo of another (the bank's subject). */
async function photos(): Promise<{ enrol: Buffer; probe: Buffer; other: Buffer; source: string }> {
  const root = path.resolve(arg('datasets') ?? process.env.FACEMATCH_DATASETS ?? path.join(ROOT, '../shared/datasets'));
  const deepface = path.join(root, 'deepface');
  if (fs.existsSync(path.join(deepface, 'identities.csv'))) {
    const rows = fs.readFileSync(path.join(deepface, 'identities.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    const of = (id: string) => rows.filter((r) => r[1] === id).map((r) => path.join(deepface, r[0]!));
    return { enrol: fs.readFileSync(of('id00')[0]!), probe: fs.readFileSync(of('id00')[1]!), other: fs.readFileSync(of('id01')[0]!), source: deepface };
  }
  log(`note: ${deepface} is absent; using face-api's demo photos (a face cropped from one photo is enrolled, the photo is the probe)`);
  const demo = path.join(ROOT, 'node_modules/@vladmandic/face-api/demo');
  const probe = fs.readFileSync(path.join(demo, 'sample1.jpg'));
  return {
    enrol: await sharp(probe).extract({ left: 1405, top: 115, width: 345, height: 409 }).jpeg().toBuffer(),
    probe,
    // Another person of the same photo (the face at 407,353 190x235, with a margin).
    other: await sharp(probe).extract({ left: 350, top: 283, width: 304, height: 376 }).jpeg().toBuffer(),
    source: demo,
  };
}

async function main() {
  for (const tool of ['openssl']) {
    try {
      require('node:child_process').execFileSync(tool, ['version'], { stdio: 'ignore' });
    } catch {
      throw new Error(`the demo needs the ${tool} command (to make its TLS certificates)`);
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facematch-federation-demo-'));
  const ca = makeCa(path.join(dir, 'ca'));
  const img = await photos();
  log(`photos from ${img.source}; deployments under ${dir}`);
  // Partners' URLs are loopback here, so the operator allow-lists that address (OUTBOUND_ALLOWED_HOSTS), as for any private network.
  const env = { OUTBOUND_ALLOWED_HOSTS: '127.0.0.1', FEDERATION_TIMEOUT_MS: '15000' };
  const us = await createDeployment({ name: 'Texas Office of the Attorney General', jurisdiction: 'US-TX', dir: path.join(dir, 'us-tx-oag'), ca, env });
  const mx = await createDeployment({ name: 'Fiscalía del Estado de Jalisco', jurisdiction: 'MX-JAL', dir: path.join(dir, 'mx-jal-fge'), ca, env });
  const bank = await createDeployment({ name: 'Banco Fronterizo', jurisdiction: 'MX', dir: path.join(dir, 'banco-fronterizo'), ca, env });
  const all = [us, mx, bank];
  const steps: Array<{ step: string; expected: string; observed: string; ok: boolean }> = [];
  const step = (name: string, expected: string, observed: string, ok: boolean) => {
    steps.push({ step: name, expected, observed, ok });
    log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${observed}`);
  };
  const must = (r: Answer, status: number, what: string) => {
    if (r.status !== status) throw new Error(`${what}: ${r.status} ${r.text.slice(0, 500)}`);
    return r.body;
  };
  const chains: Record<string, boolean> = {};
  try {
    log('starting three deployments (each loads its face models) …');
    await Promise.all(all.map((d) => d.start()));
    const usMx = await introduce(us, mx, ca.caPem);
    await introduce(us, bank, ca.caPem);
    const key = async (d: Deployment, roles: string[], organization: string, holder: string) => must(await d.call('POST', '/v1/keys', { auth: d.admin, json: { roles, organization, holder } }), 201, 'key').key as string;
    const investigator = await key(us, ['searcher'], 'tx-oag', 'Investigator R. Ruiz');
    const owner = await key(mx, ['enroller', 'admin'], 'fge-jal', 'Analista M. Pérez');
    const bankOwner = await key(bank, ['enroller', 'admin'], 'compliance', 'Oficial de cumplimiento');
    const auditors = new Map<Deployment, string>();
    for (const d of all) auditors.set(d, await key(d, ['auditor'], '*', `Auditor, ${d.name}`));

    const enrol = async (d: Deployment, auth: string, watchlist: string, name: string, photo: Buffer) => {
      must(await d.call('POST', '/v1/watchlists', { auth, json: { name: watchlist, jurisdiction: d.jurisdiction, legalBasis: 'court order (demo)' } }), 201, 'watchlist');
      const s = must(await d.call('POST', '/v1/subjects', { auth, json: { displayName: name, category: 'money_laundering', watchlist, legalBasis: 'court order (demo)' } }), 201, 'subject');
      must(await d.call('POST', `/v1/subjects/${s.id}/faces`, { auth, form: { image: { file: photo, name: 'face.jpg' } } }), 201, 'face');
      return s.id as string;
    };
    const subject = await enrol(mx, owner, 'lavado-jalisco', 'Sujeto de ejemplo A', img.enrol);
    await enrol(bank, bankOwner, 'alertas', 'Cliente de ejemplo B', img.other);
    const search = (mode: 'screening' | 'investigative', partners = 'all') =>
      us.call('POST', '/v1/searches', { auth: investigator, form: { image: { file: img.probe, name: 'probe.jpg' }, purpose: 'cross-border money-laundering network', caseRef: 'TX-AG-2026-0117', mode, partners } });
    const at = (r: Answer, d: Deployment) => (r.body.federation?.partners ?? []).find((p: { name: string }) => p.name === d.name) ?? { status: 'absent' };
    const mxCandidates = (r: Answer) => (at(r, mx).answer?.faces ?? []).flatMap((f: { candidates: unknown[] }) => f.candidates);

    let r = await search('screening');
    step('search before any grant', 'the prosecutor answers ok and nothing of it is found', `status ${at(r, mx).status}, ${mxCandidates(r).length} candidates`, at(r, mx).status === 'ok' && mxCandidates(r).length === 0);

    const partnerUsAtMx = usMx.bKnowsA;
    const screen = must(await mx.call('POST', '/v1/federation/grants', { auth: owner, json: { watchlist: 'lavado-jalisco', partner: partnerUsAtMx, access: 'screen', contact: 'Unidad de Inteligencia Patrimonial, FGE Jalisco' } }), 201, 'screen grant');
    r = await search('screening');
    const hit = (at(r, mx).answer?.faces ?? []).some((f: { hit: boolean }) => f.hit);
    const requestId: string = r.body.federation?.requestId;
    const notices = must(await mx.call('GET', '/v1/notifications', { auth: owner }), 200, 'notices').items as Array<{ subjectId: string; federation?: { requestId: string } }>;
    const noticed = notices.some((n) => n.subjectId === subject && n.federation?.requestId === requestId);
    const firstHit = mxCandidates(r)[0] as { reference?: string; contact?: string } | undefined;
    step('screening under a screen grant', "a hit with a reference and contact; the owner has a notice naming the request", `hit ${hit}, reference ${firstHit?.reference ?? '-'}, notice ${noticed}`, hit && !!firstHit?.reference && noticed);

    r = await search('investigative');
    step('investigative search under a screen grant', 'nothing of the prosecutor is seen', `status ${at(r, mx).status}, ${mxCandidates(r).length} candidates`, at(r, mx).status === 'ok' && mxCandidates(r).length === 0);

    must(await mx.call('DELETE', `/v1/federation/grants/${screen.id}`, { auth: owner }), 200, 'revoke screen');
    const grant = must(await mx.call('POST', '/v1/federation/grants', { auth: owner, json: { watchlist: 'lavado-jalisco', partner: partnerUsAtMx, access: 'search', discloseNames: true, contact: 'Fiscal regional, FGE Jalisco' } }), 201, 'search grant');
    r = await search('investigative');
    const c = mxCandidates(r)[0] as { similarity?: number; estimatedFalseMatchRate?: number; displayName?: string } | undefined;
    step(
      'investigative search under a search grant',
      'ranked candidates with similarity and the partner-calibrated false-match rate',
      c ? `top candidate ${c.displayName}, similarity ${c.similarity}, estimated FMR ${c.estimatedFalseMatchRate}` : `status ${at(r, mx).status}, no candidate`,
      !!c && typeof c.similarity === 'number' && typeof c.estimatedFalseMatchRate === 'number' && c.estimatedFalseMatchRate < 1e-3,
    );

    // A signed request made by hand as the attorney general's deployment (this demo made its key file), sent twice, then altered.
    const body = Buffer.from(
      JSON.stringify({ requestId: randomUUID(), mode: 'screening', purpose: 'replay check', caseRef: 'DEMO', requester: { organization: 'tx-oag', holder: 'demo' }, topK: 5, faces: [{ faceIndex: 0, chip: (await sharp(img.enrol).resize(256, 256).jpeg().toBuffer()).toString('base64') }] }),
    );
    const target = `${mx.url}/federation/v1/search`;
    const headers = signRequest({ keyId: us.key.keyId, sign: (b) => us.key.sign(b) }, { method: 'POST', targetUri: target, body, now: new Date() });
    const first = await mx.call('POST', '/federation/v1/search', { body, headers });
    const replay = await mx.call('POST', '/federation/v1/search', { body, headers });
    const tampered = await mx.call('POST', '/federation/v1/search', { body: Buffer.from(body.toString().replace('replay check', 'replay chEck')), headers });
    step(
      'replayed and tampered requests',
      'the first is answered, the replay and the altered body are refused with 401',
      `first ${first.status}, replay ${replay.status} ${replay.body?.error?.code}, tampered ${tampered.status} ${tampered.body?.error?.code}`,
      first.status === 200 && replay.status === 401 && replay.body?.error?.code === 'FEDERATION_REPLAYED' && tampered.status === 401 && tampered.body?.error?.code === 'FEDERATION_DIGEST_MISMATCH',
    );

    must(await mx.call('DELETE', `/v1/federation/grants/${grant.id}`, { auth: owner }), 200, 'revoke search');
    r = await search('investigative');
    const r2 = await search('screening');
    step('after revocation', 'nothing of the prosecutor is found', `investigative ${mxCandidates(r).length} candidates, screening ${mxCandidates(r2).length}`, at(r, mx).status === 'ok' && mxCandidates(r).length === 0 && mxCandidates(r2).length === 0);

    await bank.stop();
    r = await search('screening');
    step('with the bank stopped', 'the local result comes back; the bank is unreachable', `HTTP ${r.status}, local search ${r.body.searchId ? 'present' : 'absent'}, bank ${at(r, bank).status}`, r.status === 200 && !!r.body.searchId && at(r, bank).status === 'unreachable');

    const events = async (d: Deployment, type: string) => must(await d.call('GET', `/v1/audit/events?type=${type}&limit=1000`, { auth: auditors.get(d)! }), 200, 'audit').items as Array<{ payload: { requestId?: string } }>;
    const sent = (await events(us, 'federation.requested')).some((e) => e.payload.requestId === requestId);
    const answered = (await events(mx, 'federation.answered')).some((e) => e.payload.requestId === requestId);
    step('both audit chains', 'the requester and the answerer record the same federation request id', `request ${requestId}: requester ${sent}, answerer ${answered}`, sent && answered);
    for (const d of [us, mx]) chains[d.name] = must(await d.call('GET', '/v1/audit/verify', { auth: auditors.get(d)! }), 200, 'verify').ok === true;
    await bank.start();
    chains[bank.name] = must(await bank.call('GET', '/v1/audit/verify', { auth: auditors.get(bank)! }), 200, 'verify').ok === true;
  } catch (e) {
    step('demo run', 'every call answers', e instanceof Error ? e.message : String(e), false);
    for (const d of all) log(`--- ${d.name} output:\n${d.output().slice(-2000)}`);
  } finally {
    await Promise.all(all.map((d) => d.stop()));
    if (!process.argv.includes('--keep')) fs.rmSync(dir, { recursive: true, force: true });
  }
  const out = { deployments: all.map((d) => ({ name: d.name, jurisdiction: d.jurisdiction, auditChainOk: chains[d.name] ?? false })), steps };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(steps.every((s) => s.ok) && out.deployments.every((d) => d.auditChainOk) ? 0 : 1);
}

main().catch((e) => {
  process.stderr.write(`federation demo failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.stdout.write(`${JSON.stringify({ deployments: [], steps: [{ step: 'demo run', expected: 'the demo starts', observed: String(e), ok: false }] })}\n`);
  process.exit(1);
});
