import { useI18n } from './i18n';
import { useSettings } from './settings';
import { AuthImage, FmrScore } from './ui';
import { categoryWords, oneInWords, reviewStateWords } from '../src/shared/words';

/** What a candidate list shows of one candidate (a local search's candidate; a partner deployment's has no image path). */
export interface ListedCandidate {
  rank: number;
  subjectId: string;
  displayName: string | null;
  /** Absent on a withheld candidate (as are similarity and the false-match rate). */
  category?: string;
  watchlist: string | null;
  similarity?: number;
  estimatedFalseMatchRate?: number;
  erased?: boolean;
  /** The reader may see only the hit and the owner's reference (screen grant), or nothing more (grant gone). */
  withheld?: 'screen' | 'no_access';
  review?: { state: string };
}

function CandidateCard(p: { c: ListedCandidate; image: string | null }) {
  const { t, locale } = useI18n();
  const { c } = p;
  if (c.withheld) {
    return (
      <li class="candidate">
        <div>
          <p class="cand-name">{t.candidate.name(c.rank, t.candidate.withheld(c.withheld))}</p>
          <p class="secondary-text">{t.candidate.reference(c.subjectId)}</p>
          {c.review && <p class="secondary-text">{t.candidate.review(reviewStateWords(c.review.state, locale))}</p>}
        </div>
      </li>
    );
  }
  const name = c.displayName ?? t.candidate.erased;
  return (
    <li class="candidate">
      <AuthImage path={p.image} alt={t.candidate.enrolledAlt(name)} missing={t.candidate.enrolledMissing} />
      <div>
        <p class="cand-name">{t.candidate.name(c.rank, name)}</p>
        {c.estimatedFalseMatchRate !== undefined && <p><FmrScore fmr={c.estimatedFalseMatchRate} similarity={c.similarity} /></p>}
        <p class="secondary-text">{c.category ? categoryWords(c.category, locale) : ''}{c.watchlist ? ` · ${t.candidate.watchlist(c.watchlist)}` : ''}</p>
        {c.review && <p class="secondary-text">{t.candidate.review(reviewStateWords(c.review.state, locale))}</p>}
      </div>
    </li>
  );
}

/**
 * One labelled list of candidates for one probe face, best first. Candidates whose false-match rate is above the deployment's
 * weak-lead limit (REVIEW_WEAK_LEAD_FMR) are listed collapsed under "weak leads". A search view may show several lists side by
 * side (the local gallery's, a partner deployment's), each with its own label.
 */
export function CandidateList(p: { id: string; label: string; candidates: ListedCandidate[]; image: (c: ListedCandidate) => string | null; empty: string }) {
  const { t, fmt } = useI18n();
  const settings = useSettings();
  const limit = settings.raw.review.weakLeadFmr;
  // A withheld candidate has no rate: it is a hit, listed with the strong ones.
  const weak = p.candidates.filter((c) => c.estimatedFalseMatchRate !== undefined && c.estimatedFalseMatchRate > limit);
  const strong = p.candidates.filter((c) => !weak.includes(c));
  return (
    <section class="candidate-list" aria-labelledby={`${p.id}-h`}>
      <h4 id={`${p.id}-h`} class="list-label">{p.label}</h4>
      {p.candidates.length === 0 && <p>{p.empty}</p>}
      {strong.length > 0 && <ol class="candidates">{strong.map((c) => <CandidateCard key={c.subjectId} c={c} image={p.image(c)} />)}</ol>}
      {weak.length > 0 && (
        <details class="weak-leads">
          <summary>{t.candidate.weakLeads(weak.length, oneInWords(limit, fmt, settings.scale))}</summary>
          <ol class="candidates">{weak.map((c) => <CandidateCard key={c.subjectId} c={c} image={p.image(c)} />)}</ol>
        </details>
      )}
    </section>
  );
}
