import { createHash } from 'node:crypto';
import { esc } from '../../shared/html';
import { CHECKLIST_FEATURES, type FeatureChecklist } from '../review/review.model';
import { formatters, type Formatters, type Locale } from '../../shared/locale';
import { faceNumber, fmrBand, qualityLevel, scalePosition, type ScoreScale } from '../../shared/scores';
import {
  bandLegend,
  bandWords,
  categoryWords,
  checklistValueWords,
  decisionWords,
  featureWords,
  modeWords,
  oneInWords,
  qualityIssueWords,
  qualityLevelWords,
  reviewReasonWords,
  reviewStateWords,
} from '../../shared/words';
import type { CaseReport } from './oversight.model';
import { REPORT_WORDS, type ReportWords } from './report-words';

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
.decision{margin:4px 0 10px 0}.scale{vertical-align:middle}.sw{fill:#bbb}.sp{fill:#8aa9c9}.ss{fill:#0b4f8a}.st{stroke:#111}.sm{fill:#111}
@media print{body{margin:0;max-width:none;font-size:11px}h2{break-after:avoid}.face,tr{break-inside:avoid}.warn{border-width:1px}a{color:inherit}}`;

/** CSP hash source of the case file's one inline <style> (the console's policy allows exactly this inline style). */
export const REPORT_CSS_SHA256 = `sha256-${createHash('sha256').update(CSS).digest('base64')}`;

/** How the case file reads: its language, the deployment's score bands, and the quality gate the probe faces were held to. */
export interface ReportStyle {
  locale: Locale;
  scale: ScoreScale;
  probeMinQuality: number;
}

const DEFAULT_STYLE: ReportStyle = {
  locale: 'en',
  scale: { strong: 1e-4, possible: 1e-4, screeningTargetFmr: 1e-4, verifyTargetFmr: 1e-4, floor: null },
  probeMinQuality: 0.5,
};

const img = (uri: string | null, alt: string, missing: string) => (uri ? `<img class="crop" src="${uri}" alt="${esc(alt)}">` : `<div class="missing" role="img" aria-label="${esc(missing)}">${esc(missing)}</div>`);
const code = (v: unknown) => `<code>${esc(v)}</code>`;
const rawFmr = (x: number, f: Formatters) => (x < 0.001 ? x.toExponential(1) : f.number(x, 4));

/** The small logarithmic scale beside a false-match rate (the same facts are in the text beside it). */
function scaleSvg(fmr: number, s: ScoreScale): string {
  const w = 96;
  const x = (f: number) => Math.round((2 + scalePosition(f, s) * (w - 4)) * 10) / 10;
  const [p, st, at] = [x(s.possible), x(s.strong), x(fmr)];
  return `<svg class="scale" width="${w}" height="14" viewBox="0 0 ${w} 14" aria-hidden="true"><rect x="2" y="6" width="${p - 2}" height="3" class="sw"/><rect x="${p}" y="6" width="${Math.max(0, st - p)}" height="3" class="sp"/><rect x="${st}" y="6" width="${w - 2 - st}" height="3" class="ss"/><line x1="${p}" x2="${p}" y1="3" y2="12" class="st"/><line x1="${st}" x2="${st}" y1="3" y2="12" class="st"/><path d="M${at - 4} 14 L${at + 4} 14 L${at} 8 Z" class="sm"/></svg>`;
}

function fmrText(fmr: number, st: ReportStyle, w: ReportWords, f: Formatters): string {
  const band = bandWords(fmrBand(fmr, st.scale), st.locale);
  return `<strong>${esc(oneInWords(fmr, f, st.scale))}</strong>, ${esc(w.band(band))} ${scaleSvg(fmr, st.scale)} <span class="none">(FMR ${esc(rawFmr(fmr, f))})</span>`;
}

function checklistTable(c: FeatureChecklist | null | undefined, w: ReportWords, locale: Locale): string {
  if (!c || Object.keys(c).length === 0) return `<p class="none">${esc(w.noChecklist)}</p>`;
  const rows = CHECKLIST_FEATURES.filter((f) => c[f]).map((f) => `<tr><td>${esc(featureWords(f, locale))}</td><td>${esc(checklistValueWords(c[f]!, locale))}</td></tr>`);
  return `<table><thead><tr><th>${esc(w.feature)}</th><th>${esc(w.comparison)}</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/**
 * A self-contained printable case file: inline CSS, faces as data: URIs, no scripts, no external assets, no raw JSON. Written in
 * `style.locale`; dates in UTC (named); faces numbered from 1 (the JSON report keeps the API's 0-based faceIndex).
 */
export function renderReportHtml(r: CaseReport, images: ReportImageUris = NO_IMAGES, style: ReportStyle = DEFAULT_STYLE): string {
  const { locale } = style;
  const w = REPORT_WORDS[locale];
  const f = formatters(locale, 'UTC');
  const s = r.search;
  // Rows stored before the probe's size was recorded carry its hash only.
  const probe: { sha256: string; width?: number; height?: number; facesDetected?: number } = s.probe;
  const n = (v: number | undefined) => (v === undefined ? '—' : f.number(v));
  const meta: Array<[string, string]> = [
    [w.caseRef, esc(s.caseRef)],
    [w.purpose, esc(s.purpose)],
    [w.runAt, `${esc(f.dateTime(s.createdAt))} ${code(s.createdAt)}`],
    [w.searchedBy, `${esc(s.holder ?? w.unknown)} (${esc(s.organization)}), ${esc(w.key)} ${code(s.keyId)}`],
    [w.kindMode, `${esc(modeWords(s.kind, locale))} / ${esc(modeWords(s.mode, locale))}`],
    [w.probe, `${esc(w.probeText(n(probe.width), n(probe.height), n(probe.facesDetected)))} ${code(probe.sha256)}`],
    [w.model, `${esc(s.model?.id)}`],
    [w.gallery, s.gallery ? `${esc(w.galleryText(f.number(s.gallery.templates)))} ${code(s.gallery.snapshot)}` : '—'],
    [w.screening, s.thresholds ? esc(w.screeningText(f.number(s.thresholds.screeningSimilarity, 4), oneInWords(s.thresholds.screeningTargetFmr, f))) : '—'],
    [w.cap, s.thresholds?.maxFalseMatchRate ? esc(w.capText(oneInWords(s.thresholds.maxFalseMatchRate, f))) : esc(w.noCap)],
    [w.reviewRequired, s.humanReviewRequired ? esc(w.yesReasons((s.reviewReasons ?? []).map((x) => reviewReasonWords(x, locale)).join('; '))) : esc(w.no)],
    [w.scores, `${esc(w.scoresText)} ${esc(bandLegend(style.scale, f))}.`],
  ];
  const outcome = Object.entries(r.outcome)
    .filter(([, k]) => k > 0)
    .map(([k, count]) => `${f.number(count)} ${esc(reviewStateWords(k, locale))}`)
    .join('; ');

  const faces = r.faces.map((face) => {
    const { quality } = face;
    const num = faceNumber(face.faceIndex);
    const cands = r.candidates.filter((c) => c.faceIndex === face.faceIndex);
    const body = cands.length
      ? cands
          .map((c) => {
            const decisions = r.reviews.filter((v) => v.faceIndex === c.faceIndex && v.subjectId === c.subjectId);
            const name = c.erased ? w.erased : (c.displayName ?? '—');
            return `<h3>${esc(w.candidate(c.rank, name))}</h3>
<div class="pair">${img(images.probe(face.faceIndex), w.probeFace(num), w.probeMissing)}
${img(images.candidate(c.faceIndex, c.rank), w.enrolledOf(name), w.enrolledMissing)}
<dl class="meta"><dt>${esc(w.fmr)}</dt><dd>${c.estimatedFalseMatchRate === undefined ? '—' : fmrText(c.estimatedFalseMatchRate, style, w, f)}</dd><dt>${esc(w.similarity)}</dt><dd>${c.similarity === undefined ? '—' : esc(f.number(c.similarity, 4))}</dd>
${c.qualityOverruled ? `<dt>${esc(w.enrolmentQuality)}</dt><dd class="overruled">${esc(w.qualityOverruled)}</dd>` : ''}<dt>${esc(w.categoryWatchlist)}</dt><dd>${c.category === undefined ? '—' : esc(categoryWords(c.category, locale))} / ${esc(c.watchlist ?? '—')}</dd><dt>${esc(w.subject)}</dt><dd>${code(c.subjectId)}</dd>
<dt>${esc(w.reviewState)}</dt><dd>${esc(reviewStateWords(c.review.state, locale))}${'confirmations' in c.review ? ` (${esc(w.counts(c.review.confirmations, c.review.rejections))})` : ''}</dd></dl></div>
${decisions.length ? decisions.map((v) => `<div class="decision"><p>${w.decisionBy(esc(decisionWords(v.decision, locale)), esc(v.holder ?? v.keyId), esc(v.organization), esc(f.dateTime(v.createdAt)))}<br>${esc(w.rationale)}: ${esc(v.rationale)}</p>${checklistTable(v.checklist, w, locale)}</div>`).join('') : `<p class="none">${esc(w.noDecision)}</p>`}`;
          })
          .join('\n')
      : `<p class="none">${esc(w.noCandidate)}</p>`;
    const level = quality ? qualityLevelWords(qualityLevel(quality.score, style.probeMinQuality), locale) : '—';
    const issues = quality?.issues?.length ? quality.issues.map((i) => qualityIssueWords(i, locale)).join('; ') : w.noQualityIssue;
    return `<section class="face" aria-labelledby="face-${face.faceIndex}"><h2 id="face-${face.faceIndex}">${esc(w.probeFace(num))}</h2>
<p>${esc(w.quality)}: ${esc(level)} (${esc(issues)}) <span class="none">${esc(quality ? f.number(quality.score, 2) : '')}</span>.</p>
${body}</section>`;
  });

  const events = r.audit.events.length
    ? `<table><thead><tr><th>${esc(w.seq)}</th><th>${esc(w.at)}</th><th>${esc(w.type)}</th><th>${esc(w.actorKey)}</th><th>${esc(w.hash)}</th><th>${esc(w.matches)}</th></tr></thead><tbody>${r.audit.events
        .map((e) => `<tr><td>${esc(e.seq)}</td><td>${code(e.at)}</td><td>${esc(e.type)}</td><td>${code(e.actor.keyId)}</td><td>${code(e.hash)}</td><td>${e.contentMatchesHash ? esc(w.yes) : esc(w.mismatch)}</td></tr>`)
        .join('')}</tbody></table>`
    : `<p class="none">${esc(w.none)}</p>`;

  return `<!doctype html>
<html lang="${locale}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(w.pageTitle(s.caseRef, s.searchId))}</title><style>${CSS}</style></head>
<body><main>
<h1>${esc(w.title(s.caseRef))}</h1>
<p>${esc(w.search)} ${code(s.searchId)}. ${esc(w.generated(f.dateTime(r.generatedAt), r.generatedBy.holder ?? r.generatedBy.keyId, r.generatedBy.organization))}</p>
<div class="warn" role="note">${esc(w.warn)}</div>
<h2>${esc(w.search)}</h2><dl class="meta">${meta.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>
<h2>${esc(w.outcome)}</h2><p>${outcome || esc(w.noCandidates)}</p>
${faces.join('\n')}
<h2>${esc(w.auditEvents)}</h2>${events}
<p>${esc(w.note)}</p>
</main></body></html>
`;
}
