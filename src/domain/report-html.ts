import { createHash } from 'node:crypto';
import { CHECKLIST_FEATURES, FEATURE_LABELS, type FeatureChecklist } from './feature-checklist';
import { qualityIssueWords, reviewStateWords } from './words';
import type { CaseReport } from './report';

/** HTML-escapes any value rendered as text (every string in the report comes from users or stored data). */
export function esc(v: unknown): string {
  const s = v === null || v === undefined ? '—' : typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return s.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** data: URIs of the face crops, or null (purged, erased, or not available to this reader). */
export interface ReportImageUris {
  probe(faceIndex: number): string | null;
  candidate(faceIndex: number, rank: number): string | null;
}

const NO_IMAGES: ReportImageUris = { probe: () => null, candidate: () => null };

// Long tokens (hashes, ids) wrap anywhere inside <code>; prose never breaks mid-word.
const CSS = `body{font:13px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;margin:24px auto;max-width:1000px;padding:0 16px}
h1{font-size:21px;margin:0 0 4px}h2{font-size:16px;margin:26px 0 8px;border-bottom:1px solid #777}h3{font-size:14px;margin:16px 0 6px}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border:1px solid #aaa;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eee}code{font:11px/1.4 ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}
dl.meta{display:grid;grid-template-columns:200px 1fr;gap:2px 12px;margin:0}dl.meta dt{font-weight:600}dl.meta dd{margin:0}
.warn{border:2px solid #900;padding:8px 12px;margin:12px 0;font-weight:600}.none{color:#444;font-style:italic}
.face{border:1px solid #999;padding:10px 12px;margin:12px 0;break-inside:avoid}
.pair{display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap}figure{margin:0;text-align:center}figcaption{font-size:12px}
img.crop{width:128px;height:128px;object-fit:cover;border:1px solid #555;background:#ddd}
.missing{width:128px;height:128px;display:flex;align-items:center;justify-content:center;border:1px dashed #555;font-size:11px;padding:4px;box-sizing:border-box}
.decision{margin:4px 0 10px 0}
@media print{body{margin:0;max-width:none;font-size:11px}h2{break-after:avoid}.face,tr{break-inside:avoid}.warn{border-width:1px}a{color:inherit}}`;

/** CSP hash source of the case file's one inline <style> (the console's policy allows exactly this inline style). */
export const REPORT_CSS_SHA256 = `sha256-${createHash('sha256').update(CSS).digest('base64')}`;

const img = (uri: string | null, alt: string, missing: string) => (uri ? `<img class="crop" src="${uri}" alt="${esc(alt)}">` : `<div class="missing" role="img" aria-label="${esc(missing)}">${esc(missing)}</div>`);
const code = (v: unknown) => `<code>${esc(v)}</code>`;
const fmr = (x: number) => (x < 0.001 ? x.toExponential(1) : String(x));

function checklistTable(c: FeatureChecklist | null | undefined): string {
  if (!c || Object.keys(c).length === 0) return '<p class="none">No feature checklist recorded.</p>';
  const rows = CHECKLIST_FEATURES.filter((f) => c[f]).map((f) => `<tr><td>${esc(FEATURE_LABELS[f])}</td><td>${esc(c[f]!.replace('_', ' '))}</td></tr>`);
  return `<table><thead><tr><th>Feature</th><th>Comparison</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** A self-contained printable case file: inline CSS, faces as data: URIs, no scripts, no external assets, no raw JSON. */
export function renderReportHtml(r: CaseReport, images: ReportImageUris = NO_IMAGES): string {
  const s = r.search;
  // Rows stored before the probe's size was recorded carry its hash only.
  const probe: { sha256: string; width?: number; height?: number; facesDetected?: number } = s.probe;
  const meta: Array<[string, string]> = [
    ['Case reference', esc(s.caseRef)],
    ['Purpose', esc(s.purpose)],
    ['Run at', esc(s.createdAt)],
    ['Searched by', `${esc(s.holder ?? 'unknown')} (${esc(s.organization)}), key ${code(s.keyId)}`],
    ['Kind / mode', `${esc(s.kind)} / ${esc(s.mode)}`],
    ['Probe', `${esc(probe.width)} × ${esc(probe.height)} pixels, ${esc(probe.facesDetected)} face(s); SHA-256 ${code(probe.sha256)}`],
    ['Model', `${esc(s.model?.id)}`],
    ['Gallery searched', s.gallery ? `${esc(s.gallery.templates)} templates; chain position ${code(s.gallery.snapshot)}` : '—'],
    ['Screening threshold', s.thresholds ? `similarity ${esc(s.thresholds.screeningSimilarity)} (target false-match rate ${esc(s.thresholds.screeningTargetFmr)})` : '—'],
    ['Leads capped at', s.thresholds?.maxFalseMatchRate ? `estimated false-match rate ${esc(s.thresholds.maxFalseMatchRate)} (candidates above it were not listed)` : 'no cap'],
    ['Human review required', s.humanReviewRequired ? `yes: ${esc((s.reviewReasons ?? []).join(', ').toLowerCase().replace(/_/g, ' '))}` : 'no'],
  ];
  const outcome = Object.entries(r.outcome)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${esc(reviewStateWords(k))}`)
    .join('; ');

  const faces = r.faces.map((f) => {
    const { quality } = f;
    const cands = r.candidates.filter((c) => c.faceIndex === f.faceIndex);
    const body = cands.length
      ? cands
          .map((c) => {
            const decisions = r.reviews.filter((v) => v.faceIndex === c.faceIndex && v.subjectId === c.subjectId);
            const name = c.erased ? '(erased)' : (c.displayName ?? '—');
            return `<h3>Candidate ${esc(c.rank)}: ${esc(name)}</h3>
<div class="pair">${img(images.probe(f.faceIndex), `Probe face ${f.faceIndex}`, 'probe crop not kept (purged after retention)')}
${img(images.candidate(c.faceIndex, c.rank), `Enrolled face of ${name}`, 'enrolled face not available (subject erased)')}
<dl class="meta"><dt>Estimated false-match rate</dt><dd>${esc(fmr(c.estimatedFalseMatchRate))}</dd><dt>Similarity</dt><dd>${esc(c.similarity)}</dd>
<dt>Category / watchlist</dt><dd>${esc(c.category.replace('_', ' '))} / ${esc(c.watchlist)}</dd><dt>Subject</dt><dd>${code(c.subjectId)}</dd>
<dt>Review state</dt><dd>${esc(reviewStateWords(c.review.state))}${'confirmations' in c.review ? ` (${esc(c.review.confirmations)} confirmation(s), ${esc(c.review.rejections)} rejection(s))` : ''}</dd></dl></div>
${decisions.length ? decisions.map((v) => `<div class="decision"><p><strong>${esc(v.decision)}</strong> by ${esc(v.holder ?? v.keyId)} (${esc(v.organization)}) at ${esc(v.createdAt)}.<br>Rationale: ${esc(v.rationale)}</p>${checklistTable(v.checklist)}</div>`).join('') : '<p class="none">No decision recorded.</p>'}`;
          })
          .join('\n')
      : '<p class="none">No candidate for this face.</p>';
    return `<section class="face" aria-labelledby="face-${f.faceIndex}"><h2 id="face-${f.faceIndex}">Probe face ${esc(f.faceIndex)}</h2>
<p>Quality ${esc(quality?.score)}${quality?.issues?.length ? `: ${esc(quality.issues.map(qualityIssueWords).join('; '))}` : ' (no quality issue)'}.</p>
${body}</section>`;
  });

  const events = r.audit.events.length
    ? `<table><thead><tr><th>Seq</th><th>At</th><th>Type</th><th>Actor key</th><th>Hash</th><th>Content matches hash</th></tr></thead><tbody>${r.audit.events
        .map((e) => `<tr><td>${esc(e.seq)}</td><td>${esc(e.at)}</td><td>${esc(e.type)}</td><td>${code(e.actor.keyId)}</td><td>${code(e.hash)}</td><td>${e.contentMatchesHash ? 'yes' : 'NO'}</td></tr>`)
        .join('')}</tbody></table>`
    : '<p class="none">None.</p>';

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>FaceMatch case file ${esc(s.caseRef)} — search ${esc(s.searchId)}</title><style>${CSS}</style></head>
<body><main>
<h1>FaceMatch case file — ${esc(s.caseRef)}</h1>
<p>Search ${code(s.searchId)}. Generated ${esc(r.generatedAt)} by ${esc(r.generatedBy.holder ?? r.generatedBy.keyId)} (${esc(r.generatedBy.organization)}).</p>
<div class="warn" role="note">Candidates are investigative leads, not identifications. A candidate counts as confirmed only after two different people confirmed it and nobody rejected it.</div>
<h2>Search</h2><dl class="meta">${meta.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>
<h2>Outcome</h2><p>${outcome || 'No candidates.'}</p>
${faces.join('\n')}
<h2>Audit events</h2>${events}
<p>${esc(r.audit.note)}</p>
</main></body></html>
`;
}
