import type { CaseReport } from './report';

/** HTML-escapes any value rendered as text (every string in the report comes from users or stored data). */
export function esc(v: unknown): string {
  const s = v === null || v === undefined ? '—' : typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return s.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const row = (cells: unknown[], tag: 'td' | 'th' = 'td') => `<tr>${cells.map((c) => `<${tag}>${esc(c)}</${tag}>`).join('')}</tr>`;
const table = (head: string[], rows: unknown[][]) =>
  rows.length ? `<table><thead>${row(head, 'th')}</thead><tbody>${rows.map((r) => row(r)).join('')}</tbody></table>` : '<p class="none">None.</p>';

const CSS = `body{font:12px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;margin:24px;max-width:1100px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:22px 0 6px;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%;margin:4px 0}th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eee}td{word-break:break-all}.meta td:first-child{width:190px;font-weight:600;word-break:normal}
.warn{border:2px solid #a00;padding:6px 10px;margin:10px 0;font-weight:600}.none{color:#555;font-style:italic}
@media print{body{margin:0}h2{page-break-after:avoid}tr{page-break-inside:avoid}}`;

/** A self-contained printable case file: inline CSS, no scripts, no external assets. */
export function renderReportHtml(r: CaseReport): string {
  const s = r.search;
  const meta: unknown[][] = [
    ['Search id', s.searchId],
    ['Kind / mode', `${String(s.kind)} / ${String(s.mode)}`],
    ['Run at', s.createdAt],
    ['Organization / key', `${String(s.organization)} / ${String(s.keyId)}`],
    ['Purpose', s.purpose],
    ['Case reference', s.caseRef],
    ['Parameters', s.params],
    ['Probe (SHA-256, size, faces)', s.probe],
    ['Model', s.model],
    ['Gallery searched', s.gallery],
    ['Thresholds', s.thresholds],
    ['Human review required', s.humanReviewRequired],
    ['Review reasons', (s.reviewReasons as string[]).join(', ')],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>FaceMatch case file ${esc(s.searchId)}</title><style>${CSS}</style></head>
<body>
<h1>FaceMatch case file — search ${esc(s.searchId)}</h1>
<p>Generated ${esc(r.generatedAt)} by key ${esc(r.generatedBy.keyId)} (${esc(r.generatedBy.organization)}).</p>
<div class="warn">Candidates are investigative leads, not identifications. A candidate counts as confirmed only after two different reviewers confirmed it and nobody rejected it.</div>
<h2>Search</h2><table class="meta"><tbody>${meta.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</tbody></table>
<h2>Outcome</h2>${table(Object.keys(r.outcome), [Object.values(r.outcome)])}
<h2>Probe faces</h2>${table(['Face', 'Box', 'Quality', 'Candidates'], r.faces.map((f) => [f.faceIndex, f.box, f.quality, f.candidates]))}
<h2>Candidates (all, including rejected and unreviewed)</h2>${table(
    ['Face', 'Rank', 'Subject', 'Name', 'Category', 'Watchlist', 'Similarity', 'Est. FMR', 'Review state', 'Confirmations', 'Rejections'],
    r.candidates.map((c) => [c.faceIndex, c.rank, c.subjectId, c.erased ? '(erased)' : c.displayName, c.category, c.watchlist, c.similarity, c.estimatedFalseMatchRate, c.review.state, c.review.confirmations, c.review.rejections]),
  )}
<h2>Reviews</h2>${table(
    ['At', 'Face', 'Subject', 'Decision', 'Rationale', 'Reviewer key', 'Organization'],
    r.reviews.map((v) => [v.createdAt, v.faceIndex, v.subjectId, v.decision, v.rationale, v.keyId, v.organization]),
  )}
<h2>Audit events</h2>${table(
    ['Seq', 'At', 'Type', 'Actor key', 'prevHash', 'hash', 'Content matches hash'],
    r.audit.events.map((e) => [e.seq, e.at, e.type, e.actor.keyId, e.prevHash, e.hash, e.contentMatchesHash]),
  )}
<p>${esc(r.audit.note)}</p>
</body></html>
`;
}
