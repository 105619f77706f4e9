/// <reference lib="dom" />
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildConsole } from '../../src/http/console-build';
import { createPgliteDb } from '../../src/infra/db/pglite.db';
import type { Db } from '../../src/infra/db/db';
import { BOOTSTRAP_KEY, startService } from '../helpers/app';
import { SAMPLES_DIR, sample } from '../helpers/fixtures';
import { cropFace } from '../helpers/images';

/**
 * The console in a real browser (Debian's Chromium through playwright-core) against the real service: embedded PGlite in
 * memory, the real face engine, face-api's demo photos. Each role's main path is clicked through; every view is scanned with
 * axe-core; the page may talk to the service only. Screenshots go to test-artifacts/console/.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) process.stderr.write(`note: ${CHROMIUM} is absent: the console browser tests are skipped (Debian: apt-get install chromium; .ci/run does).\n`);

const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts/console');
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
jest.setTimeout(300_000);

(haveChromium ? describe : describe.skip)('console in Chromium', () => {
  let db: Db;
  let svc: Awaited<ReturnType<typeof startService>>;
  let server: http.Server;
  let base: string;
  let browser: Browser;
  const keys: Record<'sam' | 'rita' | 'rob' | 'erin' | 'audrey', string> = { sam: '', rita: '', rob: '', erin: '', audrey: '' };
  const hosts = new Set<string>();
  const cspViolations: string[] = [];
  const axeFindings: Record<string, string[]> = {};
  let bundleBytes = 0;
  let enrolPhoto = '';

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const built = await buildConsole(path.join(ARTIFACTS, 'build'));
    bundleBytes = built.files.reduce((n, f) => n + f.bytes, 0);
    db = await createPgliteDb('memory://');
    svc = await startService(db, { consoleDir: path.join(ARTIFACTS, 'build'), env: { FACE_WORKERS: '1', RATE_LIMIT_PER_MINUTE: '100000' } });
    const engine = await svc.startEngine();
    server = http.createServer(svc.app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const key = async (roles: Parameters<typeof svc.key>[0], org: string, holder: string) => (await svc.key(roles, org, holder)).auth.slice('Bearer '.length);
    keys.sam = await key(['searcher'], 'fraud-unit', 'Sam Searcher');
    keys.rita = await key(['reviewer'], 'fraud-unit', 'Rita Reviewer');
    keys.rob = await key(['reviewer'], 'fraud-unit', 'Rob Reviewer');
    keys.erin = await key(['enroller'], 'fraud-unit', 'Erin Enroller');
    keys.audrey = await key(['auditor'], '*', 'Audrey Auditor');

    // The gallery, through the real services: two people cut from group photo 1, each enrolled from their own crop.
    const group = sample(1);
    const faces = (await engine.analyze(group)).faces;
    const erin = { keyId: 'fixture', roles: ['enroller' as const], organization: 'fraud-unit', holder: 'Erin Enroller' };
    await svc.watchlist('fraud-unit', 'card-fraud');
    for (const [i, name] of ['Alex Example', 'Blair Example'].entries()) {
      const s = await svc.subjects.create(erin, { displayName: name, category: 'fraud', watchlist: 'card-fraud', legalBasis: 'case 2026/117', externalRef: null, caseRef: 'CASE-117', notes: null, reviewBy: null });
      await svc.subjects.enrolFace(erin, s.id, await cropFace(group, faces[i]!.box), null);
    }
    // A third person to enrol through the console: the clearest face (highest quality) of another demo photo.
    enrolPhoto = path.join(ARTIFACTS, 'enrol-face.jpg');
    const other = (await engine.analyze(sample(4))).faces.reduce((a, b) => (b.quality.score > a.quality.score ? b : a));
    fs.writeFileSync(enrolPhoto, await cropFace(sample(4), other.box));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update'] });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
    await svc?.close();
    await db?.close();
    fs.writeFileSync(path.join(ARTIFACTS, 'axe.json'), JSON.stringify(axeFindings, null, 2));
  });

  /** A fresh browser context (its own sessionStorage) whose every request and CSP violation is recorded. */
  async function open(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    context.on('request', (r) => {
      const u = new URL(r.url());
      if (u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'ws:') hosts.add(u.host);
    });
    const page = await context.newPage();
    page.on('console', (m) => /Content[- ]Security[- ]Policy/i.test(m.text()) && cspViolations.push(m.text()));
    await page.goto(base + '/');
    return { context, page };
  }

  async function signIn(page: Page, key: string, holder: string) {
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(holder).waitFor();
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

  it('serves the console under a strict CSP and renders the sign-in form (time to first render measured)', async () => {
    const res = await fetch(base + '/');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self';/);
    expect(await res.text()).not.toMatch(/<script(?![^>]*\bsrc=)/); // no inline script
    const { context, page } = await open();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null);
    const nav = await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).domContentLoadedEventEnd);
    fs.writeFileSync(path.join(ARTIFACTS, 'metrics.json'), JSON.stringify({ bundleBytes, firstContentfulPaintMs: fcp, domContentLoadedMs: nav }, null, 2));
    process.stderr.write(`console: ${bundleBytes} bytes (html+js+css, uncompressed); first contentful paint ${fcp?.toFixed(0)} ms; DOMContentLoaded ${nav.toFixed(0)} ms\n`);
    await axe(page, 'sign-in');
    await page.getByLabel('API key').fill('fm_not_a_key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length])).toEqual([0, 0]);
    await context.close();
  });

  it('admin: creates a key for a named holder in the console (secret shown once) that signs in at once', async () => {
    const { context, page } = await open();
    await signIn(page, BOOTSTRAP_KEY, 'bootstrap admin');
    await page.getByRole('button', { name: 'API keys' }).click();
    await page.getByLabel(/^Holder/).fill('Kim Keyholder');
    await page.getByLabel('Organization').fill('fraud-unit');
    await page.getByRole('checkbox', { name: 'reviewer' }).check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.locator('code.secret').textContent())!;
    expect(secret).toMatch(/^fm_/);
    await page.getByRole('cell', { name: 'Kim Keyholder', exact: true }).waitFor();
    await axe(page, 'keys');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, secret, 'Kim Keyholder');
    await page.getByRole('heading', { name: 'Review queue' }).waitFor();
    await context.close();
  });

  let searchId = '';
  it('searcher: searches a group photo, sees numbered boxes and candidates as thumbnails with their false-match rate', async () => {
    const { context, page } = await open();
    await signIn(page, keys.sam, 'Sam Searcher');
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length])).toEqual([0, 1]);
    await page.getByLabel(/Probe photo/).setInputFiles(path.join(SAMPLES_DIR, 'sample1.jpg'));
    await page.getByLabel('Purpose (required)').fill('card-fraud ring, ATM footage');
    await page.getByLabel('Case reference (required)').fill('CASE-117');
    await page.getByRole('button', { name: 'Run search' }).click();
    await page.getByRole('heading', { name: /^Result: \d+ face/ }).waitFor({ timeout: 120_000 });
    const boxes = await page.locator('.probe svg rect.facebox').count();
    expect(boxes).toBeGreaterThanOrEqual(3);
    await expect(page.locator('.face h3').count()).resolves.toBe(boxes);
    await page.getByText('Rank 1: Alex Example').first().waitFor();
    await page.getByText('Rank 1: Blair Example').first().waitFor();
    await page.getByText('Candidates are investigative leads, not identifications').waitFor();
    const thumb = page.getByRole('img', { name: 'Enrolled face of Alex Example' }).first();
    await thumb.waitFor();
    expect(await thumb.evaluate((i) => (i as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    await page.getByRole('img', { name: 'Probe face 0' }).waitFor();
    searchId = (await page.getByText(/^Search id /).textContent())!.replace('Search id ', '').trim();
    await shot(page, '1-searcher-result');
    await axe(page, 'searcher result');

    await page.getByLabel('Mode').selectOption('screening');
    await page.getByRole('button', { name: 'Run search' }).click();
    await page.getByText('Possible hit — human review required.').waitFor({ timeout: 120_000 });
    await context.close();
  });

  async function reviewFirstAlex(who: 'rita' | 'rob', holder: string) {
    const { context, page } = await open();
    await signIn(page, keys[who], holder);
    const item = page.getByRole('button', { name: /CASE-117 · face \d+ · rank 1: Alex Example/ }).first();
    await item.click();
    return { context, page };
  }

  it('reviewer: compares the faces with synchronised zoom and pan, overlay and flicker, fills the checklist and confirms', async () => {
    const { context, page } = await reviewFirstAlex('rita', 'Rita Reviewer');
    const probe = page.locator('.viewport').nth(0);
    await page.getByRole('img', { name: 'Probe face' }).waitFor();
    await page.getByRole('button', { name: 'Zoom in' }).click();
    await probe.focus();
    await page.keyboard.press('ArrowLeft');
    const transforms = await page.locator('.viewport img').evaluateAll((imgs) => imgs.map((i) => (i as HTMLElement).style.transform));
    expect(transforms).toEqual(['scale(1.5) translate(10px, 0px)', 'scale(1.5) translate(10px, 0px)']);
    await page.getByRole('img', { name: 'Another enrolled face of the subject' }).count(); // none here: one face each
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
    await page.getByLabel('Same person (confirm)').check();
    await page.getByRole('button', { name: 'Record decision' }).click(); // refused: the rationale is mandatory
    expect(await page.getByLabel('Rationale (required)').evaluate((t) => (t as HTMLTextAreaElement).validity.valueMissing)).toBe(true);
    await expect(page.getByText(/Decision recorded/).count()).resolves.toBe(0);
    await page.getByLabel('Rationale (required)').fill('Eyes, nose and face shape agree; no contradicting mark.');
    await page.getByRole('button', { name: 'Record decision' }).click();
    await page.getByText(/Decision recorded \(confirmed\).*confirmed once, awaiting a second reviewer/).waitFor();
    await context.close();
  });

  it('second reviewer: sees no first decision (blind), confirms, and the candidate is confirmed by two people', async () => {
    const { context, page } = await reviewFirstAlex('rob', 'Rob Reviewer');
    await page.getByRole('img', { name: 'Probe face' }).waitFor();
    expect(await page.content()).not.toMatch(/Rita|awaiting a second|confirmed once/);
    await page.getByLabel('Same person (confirm)').check();
    await page.getByLabel('Rationale (required)').fill('Independent comparison: same eyebrows and chin.');
    await page.getByRole('button', { name: 'Record decision' }).click();
    await page.getByText(/Decision recorded \(confirmed\).*confirmed by two reviewers/).waitFor();
    await axe(page, 'reviewer queue');
    await context.close();
  });

  it('case file: shows both decisions with holders and checklists beside the faces, and prints without overflow', async () => {
    const { context, page } = await open();
    await signIn(page, keys.sam, 'Sam Searcher');
    // The console opens case files from search results; here the same HTML is opened the same way (a blob: page).
    const popup = context.waitForEvent('page');
    await page.evaluate(async (id) => {
      const res = await fetch(`/v1/searches/${id}/report?format=html`, { headers: { Authorization: `Bearer ${sessionStorage.getItem('facematch.apiKey')}` } });
      window.open(URL.createObjectURL(new Blob([await res.text()], { type: 'text/html' })), '_blank');
    }, searchId);
    const report = await popup;
    await report.waitForLoadState();
    const text = await report.locator('body').innerText();
    expect(text).toContain('Rita Reviewer');
    expect(text).toContain('Rob Reviewer');
    expect(text).toMatch(/Eyes\s+similar/);
    expect(text).toContain('confirmed by two reviewers');
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

  it('enroller: creates a subject, enrols a photo with the quality shown on it, and erases it with a receipt', async () => {
    const { context, page } = await open();
    await signIn(page, keys.erin, 'Erin Enroller');
    await page.getByText('Alex Example · fraud · card-fraud').waitFor();
    await page.getByLabel('Name', { exact: true }).first().fill('Alex');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.waitForFunction(() => document.querySelectorAll('.subjects li').length === 1, undefined, { timeout: 30_000 });
    await axe(page, 'gallery');
    await page.getByLabel('Name', { exact: true }).last().fill('Casey Example');
    await page.getByLabel('Watchlist', { exact: true }).last().fill('card-fraud');
    await page.getByLabel('Legal basis').fill('case 2026/118');
    await page.getByRole('button', { name: 'Create subject' }).click();
    await page.getByRole('heading', { name: 'Casey Example' }).waitFor();
    await page.getByLabel(/Enrol a photo/).setInputFiles(enrolPhoto);
    await page.getByRole('button', { name: 'Enrol photo' }).click();
    await page.getByText(/^Enrolled\. One usable face found\. Quality \d\.\d\d\./).waitFor({ timeout: 120_000 });
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

  it('auditor: verifies the chain, sees the statistics charts, filters the timeline and exports NDJSON', async () => {
    const { context, page } = await open();
    await signIn(page, keys.audrey, 'Audrey Auditor');
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await page.getByText(/^Chain verified: \d+ events/).waitFor();
    await page.getByText('No anchor recorded yet').waitFor();
    await page.getByRole('img', { name: /Searches per day, by organization and mode/ }).waitFor();
    expect(await page.locator('figure.chart svg[role="img"]').count()).toBe(5);
    expect(await page.getByRole('img', { name: /Review outcomes/ }).getAttribute('aria-labelledby')).toBeTruthy();
    expect(await page.locator('#outcomes-d').textContent()).toContain('confirmed (two people): 1');
    await page.getByLabel('Type').selectOption('review.recorded');
    await page.getByRole('button', { name: 'Filter' }).click();
    // The table re-renders when the filtered page arrives: wait for it rather than count at once.
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 2, undefined, { timeout: 30_000 });
    await shot(page, '5-auditor-oversight');
    await axe(page, 'oversight');
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export NDJSON' }).click();
    const file = await (await download).path();
    const lines = fs.readFileSync(file!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(lines.filter((e) => e.type === 'review.recorded')).toHaveLength(2);
    await context.close();
  });

  it('made no request to any host but the service, and broke no CSP rule', () => {
    expect([...hosts]).toEqual([new URL(base).host]);
    expect(cspViolations).toEqual([]);
  });
});
