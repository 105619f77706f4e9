import type { ComponentChildren } from 'preact';
import { errorText, useBlobUrl } from './api';
import { useI18n } from './i18n';
import { useSettings } from './settings';
import { fmrBand, qualityLevel, scalePosition } from '../src/shared/scores';
import { bandLegend, bandWords, oneInWords, qualityIssueWords, qualityLevelWords } from '../src/shared/words';

/** An authenticated face image; a labelled placeholder when it cannot be shown (purged, erased, not allowed). */
export function AuthImage(p: { path: string | null; alt: string; size?: number; missing?: string; class?: string }) {
  const { t } = useI18n();
  const { url, failed } = useBlobUrl(p.path);
  const size = p.size ?? 112;
  if (url) return <img class={p.class ?? 'thumb'} src={url} alt={p.alt} width={size} height={size} />;
  const missing = p.missing ?? t.common.notAvailable;
  return (
    <span class="thumb placeholder" role="img" aria-label={failed ? `${p.alt}: ${missing}` : `${p.alt}: ${t.common.loadingImage}`} style={{ width: `${size}px`, height: `${size}px` }}>
      {failed ? missing : '…'}
    </span>
  );
}

/** An error for people: API errors in the console's words for their code (code shown), anything else as its message. */
export function ErrorBox(p: { error: unknown }) {
  const { t } = useI18n();
  if (p.error === null || p.error === undefined || p.error === '') return null;
  return (
    <p class="error" role="alert">
      {t.common.error}: {typeof p.error === 'string' ? p.error : errorText(p.error, t.errors)}
    </p>
  );
}

export function Field(p: { label: string; id: string; children: ComponentChildren; hint?: string }) {
  return (
    <div class="field">
      <label for={p.id}>{p.label}</label>
      {p.children}
      {p.hint && <small id={`${p.id}-hint`}>{p.hint}</small>}
    </div>
  );
}

/**
 * The small scale beside a false-match rate: a logarithmic track from "as common as chance" (left) to "very rare" (right),
 * the deployment's two thresholds marked, the candidate's rate as a triangle. Decorative: the same facts are in the text.
 */
function FmrScale(p: { fmr: number }) {
  const { scale } = useSettings();
  const w = 96;
  const x = (f: number) => 2 + scalePosition(f, scale) * (w - 4);
  const at = x(p.fmr);
  return (
    <svg class="fmr-scale" width={w} height="14" viewBox={`0 0 ${w} 14`} aria-hidden="true" focusable="false">
      <rect x="2" y="6" width={x(scale.possible) - 2} height="3" class="scale-weak" />
      <rect x={x(scale.possible)} y="6" width={Math.max(0, x(scale.strong) - x(scale.possible))} height="3" class="scale-possible" />
      <rect x={x(scale.strong)} y="6" width={w - 2 - x(scale.strong)} height="3" class="scale-strong" />
      <line x1={x(scale.possible)} x2={x(scale.possible)} y1="3" y2="12" class="scale-tick" />
      <line x1={x(scale.strong)} x2={x(scale.strong)} y1="3" y2="12" class="scale-tick" />
      <path d={`M${at - 4} 14 L${at + 4} 14 L${at} 8 Z`} class="scale-mark" />
    </svg>
  );
}

/** "about 1 in 10,000 · strong match" with its scale; the raw rate and similarity stay available for experts. */
export function FmrScore(p: { fmr: number; similarity?: number }) {
  const { t, fmt, locale } = useI18n();
  const { scale } = useSettings();
  const band = fmrBand(p.fmr, scale);
  const raw = `FMR ${p.fmr < 0.001 ? p.fmr.toExponential(1) : fmt.number(p.fmr, 4)}${p.similarity === undefined ? '' : ` · ${t.scores.similarity} ${fmt.number(p.similarity, 3)}`}`;
  return (
    <span class={`fmr band-${band}`}>
      <span class="sr-only">{t.scores.fmr}: </span>
      <strong>{oneInWords(p.fmr, fmt, scale)}</strong> <span class="band-word">{t.scores.band(bandWords(band, locale))}</span> <FmrScale fmr={p.fmr} />{' '}
      <span class="secondary-text raw-score">{raw}</span>
    </span>
  );
}

/** The legend for the bands, with this deployment's thresholds. */
export function ScoreLegend() {
  const { t, fmt } = useI18n();
  const { scale } = useSettings();
  return (
    <p class="secondary-text legend">
      <strong>{t.scores.legend}:</strong> {t.scores.fmr.toLowerCase()} = {t.scores.fmrExplained}. {bandLegend(scale, fmt)}.
    </p>
  );
}

/** Quality in words ("good", "poor: the face is blurred; …") with the score for experts. */
export function QualityText(p: { quality: { score: number; issues: string[] }; min?: number }) {
  const { t, fmt, locale } = useI18n();
  const { raw } = useSettings();
  const level = qualityLevelWords(qualityLevel(p.quality.score, p.min ?? raw.quality.probeMinQuality), locale);
  const issues = p.quality.issues.map((i) => qualityIssueWords(i, locale)).join('; ');
  return (
    <span class="quality">
      {t.scores.qualityIs(level)}
      {issues ? `: ${issues}` : ` (${t.scores.noQualityIssue})`}. <span class="secondary-text">({fmt.number(p.quality.score, 2)})</span>
    </span>
  );
}
