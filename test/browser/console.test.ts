/// <reference lib="dom" />
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import request from 'supertest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildConsole } from '../../scripts/lib/console-build';
import type { Db } from '../../src/shared/db';
import { BOOTSTRAP_KEY, startService } from '../helpers/app';
import { createPgliteDb } from '../../src/platform/db/pglite.db';
import { SAMPLES_DIR, sample } from '../helpers/fixtures';
import { blankImage, cropFace } from '../helpers/images';
import { encodeClip, hasFfmpeg, panZoomFrames } from '../../scripts/lib/video-clips';

/**
 * The console in a real browser (Debian's Chromium through playwright-core) against the real service: embedded PGlite in
 * memory, the real face engine, face-api's demo photos, the deployment's default purpose policy. Each role's main flows are
 * clicked (or typed) through in English and in Spanish; every view is scanned with axe-core; the page may talk to the service
 * only and never asks for a missing file. Each test sets up what it needs (searches and decisions go through the real
 * services in beforeAll), so none depends on another's order. Screenshots go to test-artifacts/console/.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) process.stderr.write(`note: ${CHROMIUM} is absent: the console browser tests are skipped (Debian: apt-get install chromium; .ci/run does).\n`);

const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/console');
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
jest.setTimeout(300_000);

type Who = 'sam' | 'rita' | 'rob' | 'rhea' | 'erin' | 'wanda' | 'audrey';

(haveChromium ? describe : describe.skip)('console in Chromium', () => {
  let db: Db;
  let svc: Awaited<ReturnType<typeof startService>>;
  let server: http.Server;
  let base: string;
  let browser: Browser;
  const keys = {} as Record<Who, { id: string; token: string }>;
  const hosts = new Set<string>();
  const cspViolations: string[] = [];
  const missing: string[] = [];
  const axeFindings: Record<string, string[]> = {};
  /** Searches made through the service for the tests that review them, by case reference. */
  const searches: Record<string, string> = {};
  let bundleBytes = 0;
  let enrolPhoto = '';
  let wallPhoto = '';
  /** A clip panning over Alex's face (empty where ffmpeg is absent: its test is skipped). */
  let clipFile = '';
  const FFMPEG = hasFfmpeg();

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const built = await buildConsole(path.join(ARTIFACTS, 'build'));
    bundleBytes = built.files.reduce((n, f) => n + f.bytes, 0);
    db = await createPgliteDb('memory://');
    // The deployment's default purpose policy (the test helpers otherwise accept any purpose).
    svc = await startService(db, { consoleDir: path.join(ARTIFACTS, 'build'), env: { FACE_WORKERS: '1', RATE_LIMIT_PER_MINUTE: '100000', PURPOSE_MIN_LENGTH: '8', OUTBOUND_ALLOW_HTTP: 'true', OUTBOUND_ALLOW_LOOPBACK_FOR_TESTS: 'true' } });
    const engine = await svc.startEngine();
    server = http.createServer(svc.app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const key = async (who: Who, roles: Parameters<typeof svc.key>[0], holder: string) => {
      const k = await svc.key(roles, 'fraud-unit', holder);
      keys[who] = { id: k.id, token: k.auth.slice('Bearer '.length) };
    };
    await key('sam', ['searcher'], 'Sam Searcher');
    await key('rita', ['reviewer'], 'Rita Reviewer');
    await key('rob', ['reviewer'], 'Rob Reviewer');
    await key('rhea', ['reviewer'], 'Rhea Reviewer');
    await key('erin', ['enroller'], 'Erin Enroller');
    await key('wanda', ['enroller', 'admin'], 'Wanda Watchlists');
    keys.audrey = { id: '', token: (await svc.key(['auditor'], '*', 'Audrey Auditor')).auth.slice('Bearer '.length) };

    // The gallery, through the real services: two people cut from group photo 1, each enrolled from their own crop: the two
    // clearest faces (a crop of the third scores just under the enrolment quality level), in the photo's face order.
    const group = sample(1);
    const all = (await engine.analyze(group)).faces;
    const faces = all
      .map((f, i) => ({ f, i }))
      .sort((a, b) => b.f.quality.score - a.f.quality.score)
      .slice(0, 2)
      .sort((a, b) => a.i - b.i)
      .map(({ f }) => f);
    const erin = { keyId: 'fixture', roles: ['enroller' as const], organization: 'fraud-unit', holder: 'Erin Enroller' };
    await svc.watchlist('fraud-unit', 'card-fraud');
    for (const [i, name] of ['Alex Example', 'Blair Example'].entries()) {
      const s = await svc.subjects.create(erin, { displayName: name, category: 'fraud', watchlist: 'card-fraud', legalBasis: 'case 2026/117', externalRef: null, caseRef: 'CASE-117', notes: null, reviewBy: null });
      await svc.subjects.enrolFace(erin, s.id, await cropFace(group, faces[i]!.box), null);
    }
    // Searches by Sam, one per test that reviews or reports on one.
    const sam = { keyId: keys.sam.id, roles: ['searcher' as const], organization: 'fraud-unit', holder: 'Sam Searcher' };
    for (const caseRef of ['CASE-201', 'CASE-202', 'CASE-203', 'CASO-2026-045']) {
      const r = await svc.searches.search(sam, group, { purpose: 'card-fraud ring, ATM footage', caseRef, mode: 'investigative', topK: 20 });
      searches[caseRef] = r.searchId;
    }
    // A third person to enrol through the console: the clearest face (highest quality) of another demo photo.
    enrolPhoto = path.join(ARTIFACTS, 'enrol-face.jpg');
    const other = (await engine.analyze(sample(4))).faces.reduce((a, b) => (b.quality.score > a.quality.score ? b : a));
    fs.writeFileSync(enrolPhoto, await cropFace(sample(4), other.box));
    if (FFMPEG) {
      // 4 s at 10 fps panning over Alex's face in group photo 1, made by ffmpeg.
      clipFile = path.join(ARTIFACTS, 'clip.mp4');
      fs.writeFileSync(clipFile, encodeClip(await panZoomFrames(group, faces[0]!.box, 40, { zoom: [2.2, 1.8], pan: 0.3 }), 10));
    }
    wallPhoto = path.join(ARTIFACTS, 'wall.jpg');
    fs.writeFileSync(wallPhoto, await blankImage(640, 480));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update'] });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
    await svc?.close();
    await db?.close();
    fs.writeFileSync(path.join(ARTIFACTS, 'axe.json'), JSON.stringify(axeFindings, null, 2));
  });

  /** A fresh browser context (its own storage) whose every request, missing file and CSP violation is recorded. */
  async function open(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    context.on('request', (r) => {
      const u = new URL(r.url());
      if (u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'ws:') hosts.add(u.host);
    });
    // API answers may be 404 on purpose (no webhook set yet); a file the page asks for may not.
    context.on('response', (r) => r.status() === 404 && !new URL(r.url()).pathname.startsWith('/v1/') && missing.push(r.url()));
    const page = await context.newPage();
    page.on('console', (m) => /Content[- ]Security[- ]Policy/i.test(m.text()) && cspViolations.push(m.text()));
    await page.goto(base + '/');
    return { context, page };
  }

  async function signIn(page: Page, who: Who | 'admin', holder: string) {
    await page.locator('#api-key').fill(who === 'admin' ? BOOTSTRAP_KEY : keys[who].token);
    await page.locator('#api-key').press('Enter');
    await page.getByText(holder).first().waitFor();
  }

  /** axe-core (WCAG 2.0/2.1 A and AA rules) on the current view: no serious or critical violation. */
  async function axe(page: Page, view: string) {
    await page.evaluate(AXE_SOURCE); // through DevTools, not a <script>: the page's CSP stays in force
    const res = await page.evaluate(() =>
      (window as unknown as { axe: { run: (c: unknown, o: unknown) => Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> } }).axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      }),
    );
    axeFindings[view] = res.violations.map((v) => `${v.impact} ${v.id} (${v.nodes.length})`);
    expect({ view, violations: res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id) }).toEqual({ view, violations: [] });
  }
  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  /** An API call as a key (for decisions a test needs recorded before it starts). */
  const call = async (who: Who, method: string, p: string, body?: unknown) => {
    const res = await fetch(base + p, { method, headers: { Authorization: `Bearer ${keys[who].token}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    expect(res.status).toBeLessThan(300);
    return res.json() as Promise<Record<string, unknown>>;
  };
  /** Sam's search's candidate `name` on the face where it ranks first. */
  const candidateOf = async (caseRef: string, name: string) => {
    const s = (await call('rhea', 'GET', `/v1/searches/${searches[caseRef]}`)) as { faces: Array<{ faceIndex: number; candidates: Array<{ rank: number; subjectId: string; displayName: string }> }> };
    const face = s.faces.find((f) => f.candidates[0]?.displayName === name)!;
    return { faceIndex: face.faceIndex, subjectId: face.candidates[0]!.subjectId };
  };
  const decide = async (who: Who, caseRef: string, name: string, decision: string, checklist?: Record<string, string>) =>
    call(who, 'POST', `/v1/searches/${searches[caseRef]}/reviews`, { ...(await candidateOf(caseRef, name)), decision, rationale: `${who}: eyes, nose and chin compared`, ...(checklist ? { checklist } : {}) });

  /** Opens the case file of a search the way the console does (fetched with the key, shown as a blob: page). */
  async function caseFile(context: BrowserContext, page: Page, searchId: string, lang: string) {
    const popup = context.waitForEvent('page');
    await page.evaluate(async ([id, l]) => {
      const res = await fetch(`/v1/searches/${id}/report?format=html&lang=${l}`, { headers: { Authorization: `Bearer ${sessionStorage.getItem('facematch.apiKey')}` } });
      window.open(URL.createObjectURL(new Blob([await res.text()], { type: 'text/html' })), '_blank');
    }, [searchId, lang]);
    const report = await popup;
    await report.waitForLoadState();
    return report;
  }

  it('serves the console under a strict CSP with its icon, and renders the sign-in form (time to first render measured)', async () => {
    const res = await fetch(base + '/');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self';/);
    expect(await res.text()).not.toMatch(/<script(?![^>]*\bsrc=)/); // no inline script
    expect((await fetch(base + '/favicon.svg')).status).toBe(200);
    const { context, page } = await open();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null);
    const nav = await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).domContentLoadedEventEnd);
    fs.writeFileSync(path.join(ARTIFACTS, 'metrics.json'), JSON.stringify({ bundleBytes, firstContentfulPaintMs: fcp, domContentLoadedMs: nav }, null, 2));
    process.stderr.write(`console: ${bundleBytes} bytes (html+js+css+icon, uncompressed); first contentful paint ${fcp?.toFixed(0)} ms; DOMContentLoaded ${nav.toFixed(0)} ms\n`);
    await axe(page, 'sign-in');
    await page.getByLabel('API key').fill('fm_not_a_key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('(UNAUTHENTICATED)').waitFor();
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length])).toEqual([0, 0]);
    await context.close();
  });

  it('admin: lands on the keys, creates a key for a named holder (secret shown once) with its state and last use, and revokes one', async () => {
    const { context, page } = await open();
    await signIn(page, 'admin', 'bootstrap admin');
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    const adminRow = page.getByRole('row', { name: /bootstrap admin/ });
    await adminRow.getByRole('cell', { name: 'active', exact: true }).waitFor();
    await expect(adminRow.getByRole('cell', { name: 'never' }).count()).resolves.toBe(0); // the admin key was just used
    await page.getByLabel(/^Holder/).fill('Kim Keyholder');
    await page.getByLabel('Organization').fill('fraud-unit');
    await page.getByRole('checkbox', { name: 'reviewer' }).check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.locator('code.secret').textContent())!;
    expect(secret).toMatch(/^fm_/);
    const kim = page.getByRole('row', { name: /Kim Keyholder/ });
    await kim.getByRole('cell', { name: 'active', exact: true }).waitFor();
    await kim.getByRole('cell', { name: 'never', exact: true }).waitFor();
    await axe(page, 'keys');
    await shot(page, '6-admin-keys');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, 'admin', 'bootstrap admin');
    await page.getByLabel(/^Holder/).fill('Temporary Tom');
    await page.getByLabel('Organization').fill('fraud-unit');
    await page.getByRole('checkbox', { name: 'auditor' }).check();
    await page.getByRole('button', { name: 'Create key' }).click();
    // The console asks first: dismissing the question keeps the key, accepting it revokes.
    const asked: string[] = [];
    page.once('dialog', (d) => { asked.push(d.message()); void d.dismiss(); });
    await page.getByRole('button', { name: 'Revoke the key of Temporary Tom' }).click();
    expect(asked).toEqual([expect.stringMatching(/^Revoke the key of Temporary Tom\? It stops working at once/)]);
    await expect(page.getByRole('row', { name: /Temporary Tom/ }).count()).resolves.toBe(1);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Revoke the key of Temporary Tom' }).click();
    await page.getByRole('row', { name: /Temporary Tom/ }).waitFor({ state: 'detached' }); // revoked keys are hidden by default
    await page.getByLabel('Show revoked keys').check();
    await page.getByRole('row', { name: /Temporary Tom/ }).getByRole('cell', { name: /^revoked / }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, 'admin', 'bootstrap admin');
    await page.getByRole('row', { name: /Kim Keyholder/ }).getByRole('cell', { name: 'never', exact: true }).waitFor(); // (waits for the list)
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#api-key').fill(secret);
    await page.locator('#api-key').press('Enter');
    await page.getByRole('heading', { name: 'Review queue' }).waitFor();
    await context.close();
  });

  it('enroller and admin: answers a grant offered to the organization, creates a watchlist, edits its retention, grants it with an expiry and revokes the grant by keyboard; sets the webhook and tests it', async () => {
    // Another organization offers fraud-unit screening of its watchlist: pending until fraud-unit's admin answers.
    const ag = { keyId: 'fixture-ag', roles: ['admin' as const], organization: 'state-ag' };
    const offered = await svc.watchlists.create(ag, { name: 'ag-ring', description: null, jurisdiction: 'US-NY', legalBasis: 'x', retentionDays: null });
    await svc.watchlists.grant(ag, offered.id, { organization: 'fraud-unit', access: 'screen' });
    const { context, page } = await open();
    await signIn(page, 'wanda', 'Wanda Watchlists');
    await page.getByRole('button', { name: 'Watchlists', exact: true }).click();
    await page.getByRole('heading', { name: 'Watchlists', exact: true }).waitFor();
    await page.getByRole('heading', { name: 'Grants offered to your organization' }).waitFor();
    await page.getByRole('button', { name: 'Accept access to ag-ring of state-ag' }).waitFor();
    // (declined, so that the other tests' searches see no watchlist of state-ag)
    await page.getByRole('button', { name: 'Decline access to ag-ring of state-ag' }).click();
    await page.getByText('Access to ag-ring declined.').waitFor();
    expect(await page.getByRole('button', { name: 'Accept access to ag-ring of state-ag' }).count()).toBe(0);
    expect((await svc.watchlists.received({ keyId: 'k', roles: ['admin'], organization: 'fraud-unit' })).map((g) => g.state)).toEqual(['declined']);
    await page.locator('#new-name').fill('mule-accounts');
    await page.locator('#new-jur').fill('US-NY');
    await page.locator('#new-legal').fill('Executive Law § 63(12)');
    await page.locator('#new-ret').fill('730');
    await page.locator('#new-legal').press('Enter');
    await page.getByText('Watchlist mule-accounts created.').waitFor();
    await axe(page, 'watchlists');
    await page.getByRole('button', { name: 'Manage mule-accounts' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'mule-accounts' }).waitFor();
    await page.locator('#edit-ret').fill('365');
    await page.locator('#edit-ret').press('Enter');
    await page.getByText('Changes saved.').waitFor();
    await page.locator('#g-org').fill('partner-bank');
    await page.locator('#g-access').selectOption('screen');
    await page.locator('#g-exp').fill('2099-12-31');
    await page.locator('#g-org').press('Enter');
    await page.getByText('Access offered to partner-bank; it takes effect once an admin of partner-bank accepts it.').waitFor();
    const grant = page.getByRole('row', { name: /partner-bank/ });
    await grant.getByRole('cell', { name: /^pending: not yet accepted/ }).waitFor();
    await grant.getByRole('cell', { name: /^until / }).waitFor();
    await axe(page, 'watchlist');
    await shot(page, '7-watchlist-grants');
    await page.getByRole('button', { name: 'Revoke the grant to partner-bank' }).focus();
    await page.keyboard.press('Enter');
    await page.getByText(/Grant to partner-bank revoked/).waitFor();
    await grant.getByRole('cell', { name: /^revoked / }).waitFor();
    await page.getByRole('button', { name: '← All watchlists' }).click();
    await page.getByRole('row', { name: /mule-accounts/ }).getByRole('cell', { name: '365 days' }).waitFor();

    // The hit-notice webhook, with a test delivery to a receiver on loopback.
    const got: Array<{ body: string; test: string | undefined }> = [];
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        got.push({ body, test: req.headers['x-facematch-test'] as string | undefined });
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      await page.getByText('No webhook set.').waitFor();
      await page.getByLabel('URL').fill(url);
      await page.getByLabel(/^Signing secret/).fill(`whsec_${Buffer.from('fraud-unit-webhook-secret-2026!!').toString('base64')}`);
      await page.getByLabel(/^Signing secret/).press('Enter');
      await page.getByText('Webhook saved.').waitFor();
      await page.getByText(`Delivers to ${url}`, { exact: false }).waitFor();
      await page.getByRole('button', { name: 'Send a test delivery' }).click();
      await page.getByText('Test delivered: the endpoint accepted it.').waitFor(); // outcome classes only, never the receiver's status
      expect(got).toHaveLength(1);
      expect(got[0]!.test).toBe('true');
      expect(JSON.parse(got[0]!.body)).toMatchObject({ test: true, organization: 'fraud-unit' });
      await axe(page, 'webhook');
    } finally {
      await new Promise((r) => receiver.close(r));
    }
    await context.close();
  });

  it('admin: makes a customers watchlist and turns reverse screening on for a watchlist granted to the organization, then off', async () => {
    // A watchlist of another organization granted to fraud-unit and accepted: reverse screening needs a live grant.
    const fiu = { keyId: 'fixture-fiu', roles: ['admin' as const], organization: 'mx-fiu' };
    const fraudAdmin = { keyId: 'fixture-fraud-admin', roles: ['admin' as const], organization: 'fraud-unit' };
    const offered = await svc.watchlists.create(fiu, { name: 'fiu-subjects', description: null, jurisdiction: 'MX', legalBasis: 'x', retentionDays: null });
    const grant = await svc.watchlists.grant(fiu, offered.id, { organization: 'fraud-unit', access: 'screen' });
    await svc.watchlists.answer(fraudAdmin, grant.id, 'accept');
    const { context, page } = await open();
    try {
      await signIn(page, 'wanda', 'Wanda Watchlists');
      await page.getByRole('button', { name: 'Watchlists', exact: true }).click();
      await page.getByRole('heading', { name: 'Reverse screening' }).waitFor();
      await page.getByText('Create a watchlist of kind “Our own customers” first.').waitFor();
      await page.locator('#new-kind').selectOption('customers');
      await page.locator('#new-name').fill('branch-clients');
      await page.locator('#new-jur').fill('US-NY');
      await page.locator('#new-legal').fill('KYC onboarding');
      await page.locator('#new-legal').press('Enter');
      await page.getByText('Watchlist branch-clients created.').waitFor();
      await page.getByRole('row', { name: /branch-clients/ }).getByText('(customers)').waitFor();
      const form = page.getByRole('form', { name: 'Turn on reverse screening for fiu-subjects of mx-fiu' });
      await form.getByLabel('Customers watchlist').selectOption({ label: 'branch-clients' });
      await form.getByLabel('Purpose').fill('KYC re-screening of branch clients');
      await form.getByLabel('Case reference').fill('KYC-2026-12');
      await form.getByRole('button', { name: 'Turn on reverse screening for fiu-subjects of mx-fiu' }).click();
      await page.getByText('Reverse screening against new subjects of fiu-subjects is on.').waitFor();
      await page.getByRole('row', { name: /fiu-subjects/ }).getByRole('cell', { name: 'on: branch-clients is screened against each new subject' }).waitFor();
      expect(await svc.reverse.get(fraudAdmin, grant.id)).toMatchObject({ customersWatchlist: 'branch-clients', purpose: 'KYC re-screening of branch clients', caseRef: 'KYC-2026-12', enabledBy: { holder: 'Wanda Watchlists' } });
      await axe(page, 'reverse-screening');
      await page.getByRole('button', { name: 'Turn off reverse screening for fiu-subjects of mx-fiu' }).click();
      await page.getByText('Reverse screening against new subjects of fiu-subjects is off.').waitFor();
      await page.getByRole('row', { name: /fiu-subjects/ }).getByRole('cell', { name: 'off' }).waitFor();
      await expect(svc.reverse.get(fraudAdmin, grant.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await context.close();
      // (what this test made goes, so that the other tests' watchlist pickers and searches see the fixture they expect)
      await svc.watchlists.answer(fraudAdmin, grant.id, 'decline');
      const made = (await svc.watchlists.list(fraudAdmin)).find((w) => w.name === 'branch-clients');
      if (made) await svc.watchlists.remove(fraudAdmin, made.id);
    }
  });

  it('searcher: a result reads in words; a new photo or a failed search leaves nothing of the last result; "x" is no purpose', async () => {
    const { context, page } = await open();
    await signIn(page, 'sam', 'Sam Searcher');
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length])).toEqual([0, 1]);
    await page.getByRole('checkbox', { name: 'card-fraud' }).waitFor();
    await page.getByLabel(/Probe photo/).setInputFiles(path.join(SAMPLES_DIR, 'sample1.jpg'));
    await page.getByLabel('Purpose (required)').fill('x');
    await page.getByLabel('Case reference (required)').fill('CASE-117');
    await page.getByRole('button', { name: 'Run search' }).click();
    expect(await page.getByLabel('Purpose (required)').evaluate((i) => (i as HTMLInputElement).validity.tooShort)).toBe(true);
    await page.getByText('Say why you search, in at least 8 characters.').waitFor();
    await page.getByLabel('Purpose (required)').fill('card-fraud ring, ATM footage');
    await page.getByLabel('Case reference (required)').press('Enter'); // the whole form works from the keyboard
    await page.getByRole('heading', { name: /^Result: \d+ faces?/ }).waitFor({ timeout: 120_000 });
    const boxes = await page.locator('.probe svg rect.facebox').count();
    expect(boxes).toBeGreaterThanOrEqual(3);
    await expect(page.locator('.face h3').count()).resolves.toBe(boxes);
    await page.getByRole('heading', { name: 'Face 1', exact: true }).waitFor();
    await expect(page.getByRole('heading', { name: 'Face 0', exact: true }).count()).resolves.toBe(0);
    await page.getByText('Rank 1: Alex Example').first().waitFor();
    await page.getByText('Rank 1: Blair Example').filter({ visible: true }).first().waitFor(); // also the collapsed weak top lead of the face nobody enrolled
    const alex = page.locator('li.candidate', { hasText: 'Rank 1: Alex Example' }).first();
    expect(await alex.locator('.fmr strong').textContent()).toMatch(/^(about 1 in [\d,.]+( million)?|1 in [\d,.]+( million)? or rarer)$/);
    expect(await alex.locator('.band-word').textContent()).toBe('strong match');
    expect(await page.locator('.face').first().textContent()).toMatch(/Quality: (good|usable|poor)/);
    // Candidates more common among strangers than the weak-lead limit are listed, collapsed.
    expect(await page.locator('details.weak-leads').count()).toBeGreaterThan(0);
    expect(await page.locator('details.weak-leads').first().evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
    await page.getByText(/strong: 1 in 10,000 or rarer/).waitFor();
    const thumb = page.getByRole('img', { name: 'Enrolled face of Alex Example' }).first();
    await thumb.waitFor();
    expect(await thumb.evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    await page.getByRole('img', { name: 'Probe face 1' }).waitFor();
    await shot(page, '1-searcher-result');
    await axe(page, 'searcher result');

    // Success in screening mode, then another photo: everything about the first result goes at once.
    await page.getByLabel('Mode').selectOption('screening');
    await page.getByRole('button', { name: 'Run search' }).click();
    await page.getByText('Possible hit — human review required.').waitFor({ timeout: 120_000 });
    await page.getByLabel(/Probe photo/).setInputFiles(wallPhoto);
    const leftovers = async () => ({
      result: await page.locator('section.result').count(),
      boxes: await page.locator('rect.facebox').count(),
      banner: await page.getByText('Possible hit — human review required.').count(),
      caseFile: await page.getByRole('button', { name: 'Open the case file' }).count(),
      searchId: await page.locator('.search-id').count(),
    });
    const none = { result: 0, boxes: 0, banner: 0, caseFile: 0, searchId: 0 };
    expect(await leftovers()).toEqual(none);
    await page.getByRole('button', { name: 'Run search' }).click();
    await page.getByRole('alert').getByText('No face was found in the photo. (NO_FACE)').waitFor({ timeout: 120_000 });
    expect(await leftovers()).toEqual(none);
    await shot(page, '1b-searcher-no-face');
    await context.close();
  });

  (FFMPEG ? it : it.skip)('searcher: a video clip shows progress, then its face tracks on a time line with their chips and candidates', async () => {
    const { context, page } = await open();
    await signIn(page, 'sam', 'Sam Searcher');
    await page.getByLabel(/Probe photo/).setInputFiles(clipFile);
    await page.getByLabel('Purpose (required)').fill('card-fraud ring, ATM footage');
    await page.getByLabel('Case reference (required)').fill('CASE-118');
    await page.getByRole('button', { name: 'Run search' }).click();
    await page.getByRole('status').getByText(/Processing the clip/).waitFor();
    await page.getByRole('heading', { name: 'Result: 1 face' }).waitFor({ timeout: 120_000 });
    expect(await page.locator('.probe svg').count()).toBe(0);
    expect(await page.locator('.timeline .track-bar').count()).toBe(1);
    await page.locator('.timeline').getByText(/^Face 1: seen 0:00–0:0\d \(\d+ frames\)$/).waitFor();
    const chip = page.locator('.timeline').getByRole('img', { name: 'Probe face 1' });
    await chip.waitFor();
    expect(await chip.evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    await page.locator('li.candidate', { hasText: 'Rank 1: Alex Example' }).first().waitFor();
    await shot(page, '1c-searcher-video');
    await axe(page, 'searcher video result');
    await context.close();
  });

  it('searcher: a batch screening job submitted through the API shows in the search view with its progress bar and counts', async () => {
    const req = request(svc.app).post('/v1/jobs').set('Authorization', `Bearer ${keys.sam.token}`).field('purpose', 'KYC re-screening of the card book').field('caseRef', 'KYC-BATCH-1');
    req.attach('images', sample(1), 'a.jpg').attach('images', fs.readFileSync(wallPhoto), 'wall.jpg');
    const job = await req;
    expect(job.status).toBe(202);
    await svc.jobWorker.start();
    for (let i = 0; i < 2400 && (await svc.jobs.get({ keyId: keys.sam.id, roles: ['searcher'], organization: 'fraud-unit' }, job.body.id)).status !== 'done'; i++) await new Promise((r) => setTimeout(r, 50));
    await svc.jobWorker.stop();
    const { context, page } = await open();
    await signIn(page, 'sam', 'Sam Searcher');
    await page.getByRole('heading', { name: 'Batch screening jobs' }).waitFor();
    const bar = page.getByRole('progressbar', { name: 'Progress of job KYC-BATCH-1' });
    await bar.waitFor();
    expect([await bar.getAttribute('max'), await bar.getAttribute('value')]).toEqual(['2', '2']);
    await page.getByText('2 of 2 photos finished; 1 failed; 1 with candidates').waitFor();
    await axe(page, 'search view with a batch job');
    await context.close();
  });

  it('reviewer: an answer to the old filters arriving after Apply, before the new request is sent, never fills the list', async () => {
    const { context, page } = await open();
    try {
      // The queue's first, unfiltered answer is held back; the page's timers are stopped, so the effect that sends the filtered
      // request (it runs after paint) waits; the held answer is let go in between, as a slow first answer arrives on a busy machine.
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let held = '';
      let heldNow!: () => void;
      const holding = new Promise<void>((r) => (heldNow = r));
      await page.route(/\/v1\/reviews\/queue\/searches\?/, async (route) => {
        if (!new URL(route.request().url()).searchParams.has('caseRef')) {
          held = route.request().url();
          heldNow();
          await released;
        }
        await route.continue();
      });
      await page.clock.install();
      await signIn(page, 'rhea', 'Rhea Reviewer');
      await holding;
      await page.clock.pauseAt(Date.now() + 60_000);
      await page.getByLabel('Case', { exact: true }).fill('CASE-201');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByRole('status').getByText('Loading…').waitFor();
      const finished = page.waitForEvent('requestfinished', (r) => r.url() === held);
      release();
      // The held answer has reached the page and its handling has run: the request has finished, and then a run of
      // message-channel turns (not timers, which are stopped) lets the JSON read and the render that would follow it finish.
      await finished;
      await page.evaluate(async () => {
        for (let i = 0; i < 50; i++) await new Promise<void>((r) => { const c = new MessageChannel(); c.port1.onmessage = () => r(); c.port2.postMessage(0); });
      });
      expect(await page.locator('button.queue-row').count()).toBe(0);
      await page.getByRole('status').getByText('Loading…').waitFor();
      await page.clock.resume();
      await page.getByRole('heading', { name: /^Case CASE-201 · / }).waitFor();
      await expect(page.getByRole('heading', { name: /^Case CASE-\d+ · / }).count()).resolves.toBe(1);
    } finally {
      await context.close();
    }
  });

  it('reviewer: works the grouped queue by keyboard — next, compare, confirm with a rationale, on to the next undecided', async () => {
    const { context, page } = await open();
    await signIn(page, 'rita', 'Rita Reviewer');
    await page.getByLabel('Case', { exact: true }).fill('CASE-201');
    await page.getByLabel('Case', { exact: true }).press('Enter');
    await page.getByRole('heading', { name: /^Case CASE-201 · / }).waitFor();
    await expect(page.getByRole('heading', { name: /^Case CASE-20[23] · / }).count()).resolves.toBe(0);
    await page.getByRole('heading', { name: /^Face 1/ }).first().waitFor();
    const firstRow = page.locator('button.queue-row').first();
    expect(await firstRow.locator('img, [role="img"]').count()).toBe(2); // probe crop and enrolled crop side by side
    expect(await firstRow.textContent()).toMatch(/Rank 1: Alex Example.*(about 1 in|or rarer).*strong match/);
    await page.getByRole('button', { name: 'Apply' }).focus();
    await page.keyboard.press('j');
    await page.getByRole('heading', { name: /^Case CASE-201: face 1, candidate 1 \(Alex Example\)$/ }).waitFor();
    await page.waitForFunction(() => document.activeElement?.classList.contains('queue-row')); // J / K keep walking from here

    const probe = page.locator('.viewport').nth(0);
    await page.getByRole('img', { name: 'Probe face', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Zoom in' }).click();
    await probe.focus();
    await page.keyboard.press('ArrowLeft');
    const transforms = await page.locator('.viewport img').evaluateAll((imgs) => imgs.map((i) => (i as HTMLElement).style.transform));
    expect(transforms).toEqual(['scale(1.5) translate(10px, 0px)', 'scale(1.5) translate(10px, 0px)']);
    await shot(page, '2-reviewer-compare');
    await axe(page, 'reviewer compare');
    await page.getByLabel('Overlay').check();
    await page.getByLabel(/Enrolled face opacity/).waitFor();
    await page.getByLabel('Flicker').check();
    await page.getByText(/Showing: (probe|enrolled) face/).waitFor();
    await page.getByLabel('Side by side').check();
    await page.getByLabel('Eyes: similar').check();
    await page.getByLabel('Nose: similar').check();
    await page.getByLabel('Ears: not visible').check();

    await page.locator('button.queue-row.selected').focus();
    await page.keyboard.press('c');
    expect(await page.getByLabel('Same person (confirm)').isChecked()).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('rationale');
    await page.keyboard.press('Control+Enter'); // refused: the rationale is mandatory
    await expect(page.getByText(/Decision recorded/).count()).resolves.toBe(0);
    await page.keyboard.type('Eyes, nose and face shape agree; no contradicting mark.');
    await page.keyboard.press('Control+Enter');
    await page.getByText(/Decision recorded \(confirmed\).*confirmed once, awaiting a second reviewer/).waitFor();
    // On to the next candidate Rita has not decided yet.
    await expect(page.getByRole('heading', { name: /^Case CASE-201: face 1, candidate 1 \(Alex Example\)$/ }).count()).resolves.toBe(0);
    await page.getByRole('heading', { name: /^Case CASE-201: face \d+, candidate \d+/ }).waitFor();
    await page.keyboard.press('k');
    await page.getByText(/^You decided: confirmed\. Current state: confirmed once/).waitFor();
    await context.close();

    // The second reviewer sees no first decision (blind), and completes four-eyes.
    const second = await open();
    await signIn(second.page, 'rob', 'Rob Reviewer');
    await second.page.getByLabel('Case', { exact: true }).fill('CASE-201');
    await second.page.getByRole('button', { name: 'Apply' }).click();
    await second.page.getByRole('heading', { name: /^Case CASE-201 · / }).waitFor();
    await second.page.keyboard.press('j');
    await second.page.getByRole('img', { name: 'Probe face', exact: true }).waitFor();
    expect(await second.page.content()).not.toMatch(/Rita|awaiting a second|confirmed once/);
    await second.page.keyboard.press('c');
    await second.page.keyboard.type('Independent comparison: same eyebrows and chin.');
    await second.page.keyboard.press('Control+Enter');
    await second.page.getByText(/Decision recorded \(confirmed\).*confirmed by two reviewers/).waitFor();
    await axe(second.page, 'reviewer queue');
    await second.context.close();
  });

  it('third reviewer: finds a split decision under "disputed", sees that it is disputed but not who decided what, and settles it', async () => {
    await decide('rita', 'CASE-202', 'Alex Example', 'confirmed');
    await decide('rob', 'CASE-202', 'Alex Example', 'rejected');
    const { context, page } = await open();
    await signIn(page, 'rhea', 'Rhea Reviewer');
    await page.getByLabel('State').selectOption('disputed');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('heading', { name: /^Case CASE-202 · / }).waitFor();
    expect(await page.locator('button.queue-row').count()).toBe(1);
    await page.locator('button.queue-row').click();
    await page.getByText(/^Reviewers disagree on this candidate/).waitFor();
    expect(await page.content()).not.toMatch(/Rita|Rob/);
    await axe(page, 'reviewer disputed');
    await page.getByLabel('Same person (confirm)').check();
    await page.getByLabel('Rationale (required)').fill('Third opinion: ear shape and scar agree.');
    await page.getByRole('button', { name: 'Record decision' }).click();
    await page.getByText(/Decision recorded \(confirmed\).*confirmed by two reviewers/).waitFor();
    await context.close();
  });

  it('case file: both decisions with holders and checklists beside the faces, faces from 1, scores in words; prints without overflow', async () => {
    await decide('rita', 'CASE-203', 'Alex Example', 'confirmed', { eyes: 'similar', nose: 'similar' });
    await decide('rob', 'CASE-203', 'Alex Example', 'confirmed');
    const { context, page } = await open();
    await signIn(page, 'sam', 'Sam Searcher');
    const report = await caseFile(context, page, searches['CASE-203']!, 'en');
    const text = await report.locator('body').innerText();
    expect(text).toContain('Rita Reviewer');
    expect(text).toContain('Rob Reviewer');
    expect(text).toMatch(/Eyes\s+similar/);
    expect(text).toContain('confirmed by two reviewers');
    expect(text).toContain('Probe face 1');
    expect(text).not.toContain('Probe face 0');
    expect(text).toMatch(/(about 1 in [\d,.]+( million)?|or rarer), strong match/);
    expect(text).toContain('1:N search / investigative');
    expect(text).not.toMatch(/[{[]"/);
    const loaded = await report.locator('img.crop').evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth > 0));
    expect(loaded.length).toBeGreaterThanOrEqual(4);
    expect(loaded.every(Boolean)).toBe(true);
    await shot(report, '3-case-file');
    await axe(report, 'case file');
    await report.emulateMedia({ media: 'print' });
    await report.setViewportSize({ width: 794, height: 1123 }); // A4 at 96 dpi
    expect(await report.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    const pdf = await report.pdf({ format: 'A4', printBackground: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'case-file.pdf'), pdf);
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    await context.close();
  });

  it('enroller: picks the watchlist, creates a subject, enrols a photo with the quality shown on it in words, and erases it', async () => {
    const { context, page } = await open();
    await signIn(page, 'erin', 'Erin Enroller');
    await page.getByText('Alex Example · fraud · card-fraud').waitFor();
    await page.getByLabel('Name', { exact: true }).first().fill('Alex');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.waitForFunction(() => document.querySelectorAll('.subjects li').length === 1, undefined, { timeout: 30_000 });
    await axe(page, 'gallery');
    await page.getByLabel('Name', { exact: true }).last().fill('Casey Example');
    expect(await page.locator('#new-watchlist option').allTextContents()).toContain('card-fraud'); // owned watchlists only: a picker, not free text
    await page.getByLabel('Legal basis').fill('case 2026/118');
    await page.getByRole('button', { name: 'Create subject' }).click();
    await page.getByRole('heading', { name: 'Casey Example' }).waitFor();
    await page.getByLabel(/Enrol a photo/).setInputFiles(enrolPhoto);
    await page.getByRole('button', { name: 'Enrol photo' }).click();
    await page.getByText(/^Enrolled\. One usable face found\. Quality: (good|usable)/).waitFor({ timeout: 120_000 });
    await page.locator('.probe svg rect.facebox').waitFor();
    await shot(page, '4-enroller-enrolled');
    await axe(page, 'subject');
    await page.getByRole('button', { name: 'Erase this subject…' }).click();
    await page.getByRole('button', { name: 'Erase permanently' }).click();
    await page.getByRole('heading', { name: 'Erasure receipt' }).waitFor();
    const receipt = await page.locator('dl.meta').innerText();
    expect(receipt).toMatch(/facesRemoved\s+1/);
    expect(receipt).toMatch(/auditHash\s+[0-9a-f]{64}/);
    await context.close();
  });

  it('auditor: verifies the chain; the timeline names holders, purposes and cases, newest first, filters, a case view and the export', async () => {
    // A search attempt refused after the photo arrived: audited with its purpose and case, nothing else of the photo kept.
    const form = new FormData();
    form.append('image', new Blob([fs.readFileSync(wallPhoto)], { type: 'image/jpeg' }), 'wall.jpg');
    form.append('purpose', 'ATM skimming, camera 4');
    form.append('caseRef', 'CASE-404');
    expect((await fetch(base + '/v1/searches', { method: 'POST', headers: { Authorization: `Bearer ${keys.sam.token}` }, body: form })).status).toBe(422);
    const { context, page } = await open();
    await signIn(page, 'audrey', 'Audrey Auditor');
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await page.getByText(/^Chain verified: [\d,]+ events/).waitFor();
    await page.getByRole('img', { name: /Searches per day, by organization and mode/ }).waitFor();
    await page.locator('figure.chart svg[role="img"]').nth(4).waitFor(); // each chart renders when its figures arrive
    expect(await page.locator('figure.chart svg[role="img"]').count()).toBe(5);
    await page.locator('caption', { hasText: /^Events, newest first/ }).waitFor();
    const seqs = (await page.locator('tbody tr td:first-child').allTextContents()).map(Number).filter((n) => n > 0);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    const failed = page.getByRole('row', { name: /search\.failed/ }).first();
    expect(await failed.textContent()).toMatch(/Sam Searcher.*ATM skimming, camera 4.*CASE-404.*failed: NO_FACE/);

    await page.getByLabel('Holder').fill('Sam Searcher');
    await page.getByLabel('Event type').fill('search.run');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await page.waitForFunction(() => Array.from(document.querySelectorAll('tbody tr')).every((r) => r.textContent?.includes('search.run') && r.textContent.includes('Sam Searcher')), undefined, { timeout: 30_000 });
    await shot(page, '5-auditor-oversight');
    await axe(page, 'oversight');

    await page.getByRole('button', { name: 'Show everything about case CASE-203' }).first().click();
    await page.getByRole('heading', { name: 'Case CASE-203' }).waitFor();
    await page.locator('caption', { hasText: '1 search in this case' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length >= 4, undefined, { timeout: 30_000 }); // the search's row, and its event with two reviews
    await axe(page, 'case view');
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export the filtered events (NDJSON)' }).click();
    const file = await (await download).path();
    const lines = fs.readFileSync(file!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; context: { caseRef: string; holder: string } });
    expect(new Set(lines.map((e) => e.context.caseRef))).toEqual(new Set(['CASE-203']));
    expect(lines.filter((e) => e.type === 'review.recorded').map((e) => e.context.holder).sort()).toEqual(['Rita Reviewer', 'Rob Reviewer']);
    await context.close();
  });

  it('en español: language chosen at sign-in and remembered; search, readable scores and a failed search in Spanish', async () => {
    const { context, page } = await open();
    await page.getByLabel('Language').selectOption('es-MX');
    await page.getByRole('button', { name: 'Iniciar sesión' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('es-MX');
    await page.reload();
    await page.getByRole('button', { name: 'Iniciar sesión' }).waitFor(); // remembered (a preference, not a secret)
    expect(await page.evaluate(() => [localStorage.getItem('facematch.language'), localStorage.length])).toEqual(['es-MX', 1]);
    await axe(page, 'inicio de sesión');
    await signIn(page, 'sam', 'Sam Searcher');
    await page.getByRole('heading', { name: 'Búsqueda con fotografía de consulta' }).waitFor();
    await page.getByLabel(/Fotografía de consulta/).setInputFiles(path.join(SAMPLES_DIR, 'sample1.jpg'));
    await page.getByLabel('Finalidad (obligatoria)').fill('Investigación de fraude con tarjetas');
    await page.getByLabel('Referencia del caso (obligatoria)').fill('CASO-2026-046');
    await page.getByRole('button', { name: 'Buscar', exact: true }).click();
    await page.getByRole('heading', { name: /^Resultado: \d+ rostros?/ }).waitFor({ timeout: 120_000 });
    await page.getByRole('heading', { name: 'Rostro 1', exact: true }).waitFor();
    await page.getByText('Posición 1: Alex Example').first().waitFor();
    const alex = page.locator('li.candidate', { hasText: 'Posición 1: Alex Example' }).first();
    expect(await alex.locator('.fmr strong').textContent()).toMatch(/^(aprox\. 1 de cada [\d,.]+( millones)?|1 de cada [\d,.]+( millones)? o menos)$/);
    expect(await alex.locator('.band-word').textContent()).toBe('coincidencia fuerte');
    await page.getByText(/Calidad: (buena|aceptable|deficiente)/).first().waitFor();
    await page.getByText('Los candidatos son líneas de investigación, no identificaciones.', { exact: false }).waitFor();
    await shot(page, '8-busqueda');
    await axe(page, 'resultado de búsqueda');
    const report = await caseFile(context, page, searches['CASO-2026-045']!, 'es-MX');
    expect(await report.evaluate(() => document.documentElement.lang)).toBe('es-MX');
    const text = await report.locator('body').innerText();
    expect(text).toContain('Expediente de FaceMatch — CASO-2026-045');
    expect(text).toContain('Rostro de consulta 1');
    expect(text).toMatch(/(aprox\. 1 de cada [\d,.]+( millones)?|o menos), coincidencia fuerte/);
    expect(text).toContain('búsqueda 1:N / investigación');
    await axe(report, 'expediente');
    await report.close();
    await page.getByLabel(/Fotografía de consulta/).setInputFiles(wallPhoto);
    expect(await page.locator('section.result').count()).toBe(0);
    await page.getByRole('button', { name: 'Buscar', exact: true }).click();
    await page.getByRole('alert').getByText('No se encontró ningún rostro en la fotografía. (NO_FACE)').waitFor({ timeout: 120_000 });
    await context.close();
  });

  it('en español: a reviewer decides by keyboard and an auditor reads the timeline, dates and numbers through Intl', async () => {
    const { context, page } = await open();
    await page.getByLabel('Language').selectOption('es-MX');
    await signIn(page, 'rhea', 'Rhea Reviewer');
    await page.getByRole('heading', { name: 'Revisión humana' }).waitFor();
    await page.getByLabel('Caso', { exact: true }).fill('CASO-2026-045');
    await page.getByLabel('Caso', { exact: true }).press('Enter');
    await page.getByRole('heading', { name: /^Caso CASO-2026-045 · \d{1,2} [a-z]{3}\.? \d{4}/ }).waitFor();
    await page.getByRole('button', { name: 'Aplicar' }).focus();
    await page.keyboard.press('j');
    await page.getByRole('heading', { name: /^Caso CASO-2026-045: rostro 1, candidato 1 \(Alex Example\)$/ }).waitFor();
    await page.getByText('Comparación morfológica (lista de rasgos FISWG)').waitFor();
    await page.keyboard.press('c');
    expect(await page.getByLabel('Es la misma persona (confirmar)').isChecked()).toBe(true);
    await page.keyboard.type('Coinciden la forma de las orejas, la nariz y el mentón.');
    await page.keyboard.press('Control+Enter');
    await page.getByText('Decisión registrada (confirmado). Estado actual del candidato: confirmado una vez; falta un segundo revisor.').waitFor();
    await shot(page, '9-revision');
    await axe(page, 'revisión');
    await context.close();

    const auditor = await open();
    await auditor.page.getByLabel('Language').selectOption('es-MX');
    await signIn(auditor.page, 'audrey', 'Audrey Auditor');
    await auditor.page.getByRole('heading', { name: 'Bitácora de auditoría' }).waitFor();
    await auditor.page.locator('caption', { hasText: /^Eventos, del más reciente al más antiguo/ }).waitFor();
    await auditor.page.getByRole('button', { name: 'Verificar la cadena' }).click();
    await auditor.page.getByText(/^Cadena verificada: [\d,]+ eventos/).waitFor();
    const when = (await auditor.page.locator('tbody tr td:nth-child(2)').first().textContent())!;
    expect(when).toMatch(/^\d{1,2} (ene|feb|mar|abr|may|jun|jul|ago|sept?|oct|nov|dic)\.? \d{4}/);
    await auditor.page.getByText('Búsquedas por día, por organización y modalidad').waitFor();
    await axe(auditor.page, 'supervisión');
    await auditor.context.close();
  });

  it('made no request to any host but the service, asked for no missing file, and broke no CSP rule', () => {
    expect([...hosts]).toEqual([new URL(base).host]);
    expect(missing).toEqual([]);
    expect(cspViolations).toEqual([]);
  });
});
