import { buildReport } from '../../src/modules/oversight/report.service';
import { renderReportHtml } from '../../src/modules/oversight/report-html';
import { esc } from '../../src/shared/html';
import { withReviewState } from '../../src/modules/search/search-view';
import { storedSearchResult, withNames, type ShownRecord } from '../../src/modules/search/search.model';

const evil = `<script>alert("x")</script>&'\``;

/** A stored search as search.service writes it (parsed by the stored schema), read with names joined and reviews attached. */
function record(): ShownRecord & { kind: 'search' } {
  const stored = storedSearchResult.parse({
    searchId: 's1',
    createdAt: '2026-01-01T00:00:00.000Z',
    mode: 'investigative',
    probe: { sha256: 'ab'.repeat(32), width: 1, height: 1, facesDetected: 1 },
    faces: [{ faceIndex: 0, box: { x: 0, y: 0, width: 1, height: 1 }, quality: { score: 1, issues: [] }, candidates: [{ rank: 1, subjectId: 'sub', category: 'fraud', watchlistId: 'wl', faceId: 'f', similarity: 0.9, estimatedFalseMatchRate: 1e-4 }] }],
    humanReviewRequired: true,
    reviewReasons: ['CANDIDATES_ARE_LEADS_ONLY'],
  });
  const named = { ...stored, faces: stored.faces.map((f) => ({ ...f, candidates: f.candidates.map((c) => withNames(c, { displayName: evil, watchlist: 'w' })) })) };
  const result = withReviewState(named, [
    { id: 'r', searchId: 's1', faceIndex: 0, subjectId: 'sub', decision: 'rejected', rationale: evil, keyId: 'k2', holder: 'Rob Reviewer', organization: 'o', checklist: null, createdAt: '2026-01-01T00:00:00.000Z' },
  ]);
  return { id: 's1', kind: 'search', organization: 'o', keyId: 'k1', mode: 'investigative', purpose: evil, caseRef: evil, probeSha256: 'ab'.repeat(32), modelId: 'm', params: {}, result, createdAt: '2026-01-01T00:00:00.000Z' };
}

describe('case-file report', () => {
  it('counts negative outcomes in the report outcome', () => {
    const r = buildReport(record(), [], { keyId: 'k3', roles: ['auditor'], organization: '*' }, new Date(0));
    expect(r.outcome).toMatchObject({ rejected: 1, confirmed: 0 });
    expect(r.candidates[0]).toMatchObject({ faceIndex: 0, estimatedFalseMatchRate: 1e-4, review: { state: 'rejected' } });
  });

  it('escapes every user-supplied string in the HTML and loads no external asset', () => {
    const html = renderReportHtml(buildReport(record(), [], { keyId: 'k3', roles: ['auditor'], organization: '*' }, new Date(0)));
    expect(html).not.toContain('<script');
    expect(html).not.toMatch(/\bhref=/i);
    expect(html).not.toMatch(/\bsrc=/i); // no images given: placeholders, not broken links
    expect(html).toContain(esc(evil));
    expect(html).toContain('<style>');
  });

  it('inlines face crops as data: URIs only, shows reviewer holders and checklists, and prints no raw JSON', () => {
    const rec = record();
    const result = withReviewState(rec.result, [{ id: 'r', searchId: 's1', faceIndex: 0, subjectId: 'sub', decision: 'rejected', rationale: 'nose differs', keyId: 'k2', holder: 'Rita Reviewer', organization: 'o', checklist: { nose: 'different', ears: 'not_visible' }, createdAt: '2026-01-01T00:00:00.000Z' }]);
    const uri = 'data:image/jpeg;base64,AAAA';
    const html = renderReportHtml(buildReport({ ...rec, result }, [], { keyId: 'k3', roles: ['auditor'], organization: '*' }, new Date(0)), { probe: () => uri, candidate: () => uri });
    expect([...html.matchAll(/\bsrc="([^"]*)"/g)].map((m) => m[1])).toEqual([uri, uri]);
    expect(html).toContain('Rita Reviewer');
    expect(html).toMatch(/<td>Nose<\/td><td>different<\/td>/);
    expect(html).toMatch(/<td>Ears<\/td><td>not visible<\/td>/);
    expect(html).not.toMatch(/[{[]&#34;/); // no JSON.stringify output in any cell
  });

  it('reads in Spanish when asked: faces from 1, scores as "1 de cada N" with their band, dates through Intl, codes unchanged', () => {
    const scale = { strong: 1e-4, possible: 1e-3, screeningTargetFmr: 1e-3, verifyTargetFmr: 1e-4, floor: null };
    const html = renderReportHtml(buildReport(record(), [], { keyId: 'k3', roles: ['auditor'], organization: '*' }, new Date(0)), undefined, { locale: 'es-MX', scale, probeMinQuality: 0.5 });
    expect(html).toContain('<html lang="es-MX">');
    expect(html).toContain('Expediente de FaceMatch');
    expect(html).toContain('Rostro de consulta 1');
    expect(html).not.toContain('Rostro de consulta 0');
    expect(html).toContain('aprox. 1 de cada 10,000</strong>, coincidencia fuerte');
    expect(html).toContain('descartado');
    expect(html).toMatch(/1 ene 2026, 12:00:00\sa\.\s?m\.\sUTC/);
    expect(html).toContain('Calidad: buena');
    const english = renderReportHtml(buildReport(record(), [], { keyId: 'k3', roles: ['auditor'], organization: '*' }, new Date(0)), undefined, { locale: 'en', scale, probeMinQuality: 0.5 });
    expect(english).toContain('Probe face 1');
    expect(english).toContain('about 1 in 10,000</strong>, strong match');
  });

  it('escapes quotes and backticks as well as angle brackets', () => {
    expect(esc(`<a href="x">'\`&`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#96;&#38;');
  });
});
