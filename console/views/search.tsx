import { useEffect, useRef, useState } from 'preact/hooks';
import { api, openReport } from '../api';
import { CandidateList } from '../candidates';
import { useI18n } from '../i18n';
import { useSettings } from '../settings';
import { AuthImage, ErrorBox, Field, QualityText, ScoreLegend } from '../ui';
import { useWatchlists, WatchlistChecks } from '../watchlist-picker';
import { faceNumber } from '../../src/shared/scores';
import { reviewReasonWords } from '../../src/shared/words';
import { JobsPanel } from './jobs';

interface Candidate { rank: number; subjectId: string; displayName: string | null; category?: string; watchlist: string | null; faceId?: string; similarity?: number; estimatedFalseMatchRate?: number; erased?: boolean; withheld?: 'screen' | 'no_access'; review?: { state: string } }
interface Track { startSeconds: number; endSeconds: number; frames: number; bestFrameSeconds: number }
interface Face { faceIndex: number; box: { x: number; y: number; width: number; height: number }; quality: { score: number; issues: string[] }; candidates: Candidate[]; track?: Track }
interface VideoInfo { durationSeconds: number | null; framesSampled: number; tracks: number }
export interface SearchResult { searchId: string; mode: string; probe: { width: number; height: number; facesDetected: number }; faces: Face[]; humanReviewRequired: boolean; reviewReasons: string[]; video?: VideoInfo }

/** A clip rather than a photo: by its declared type, or its name when the browser declares none. */
const isVideo = (f: File) => f.type.startsWith('video/') || /\.(mp4|m4v|mov|3gp|webm|mkv)$/i.test(f.name);

/** m:ss of a clip offset. */
const clock = (seconds: number) => `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, '0')}`;

/** The tracks of a video search on one time line: a bar per track from its first to its last sampled frame, with its chip. */
function TrackTimeline(p: { result: SearchResult }) {
  const { t } = useI18n();
  const tracks = p.result.faces.filter((f) => f.track);
  const end = Math.max(p.result.video?.durationSeconds ?? 0, ...tracks.map((f) => f.track!.endSeconds), 0.001);
  return (
    <figure class="timeline">
      <ol aria-label={t.search.timeline(clock(end))}>
        {tracks.map((f) => {
          const tr = f.track!;
          const n = faceNumber(f.faceIndex);
          return (
            <li key={f.faceIndex} class="track-row">
              <AuthImage path={`/v1/searches/${p.result.searchId}/faces/${f.faceIndex}/image`} alt={t.search.probeFace(n)} missing={t.search.probeCropMissing} />
              <span class="track-lane">
                <span class="track-bar" style={{ left: `${(tr.startSeconds / end) * 100}%`, width: `${Math.max(1, ((tr.endSeconds - tr.startSeconds) / end) * 100)}%` }} />
              </span>
              <span class="track-label">{t.search.trackSpan(n, clock(tr.startSeconds), clock(tr.endSeconds), tr.frames)}</span>
            </li>
          );
        })}
      </ol>
      <figcaption>{t.search.timelineCaption}</figcaption>
    </figure>
  );
}

/** The probe photo with a numbered box on every detected face (SVG over the image, in the image's pixel space). */
function ProbeWithBoxes(p: { src: string; result: SearchResult }) {
  const { t } = useI18n();
  const { width, height } = p.result.probe;
  return (
    <figure class="probe">
      <div class="probe-frame">
        <img src={p.src} alt={t.search.probeAlt(p.result.faces.length)} />
        <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" aria-hidden="true">
          {p.result.faces.map((f) => (
            <g key={f.faceIndex}>
              <rect x={f.box.x} y={f.box.y} width={f.box.width} height={f.box.height} class="facebox" vector-effect="non-scaling-stroke" />
              <text x={f.box.x + 4} y={f.box.y + Math.max(14, width / 40)} class="facelabel" font-size={Math.max(14, width / 40)}>
                {faceNumber(f.faceIndex)}
              </text>
            </g>
          ))}
        </svg>
      </div>
      <figcaption>{t.search.boxesCaption}</figcaption>
    </figure>
  );
}

function FaceResult(p: { searchId: string; face: Face; mode: string }) {
  const { t } = useI18n();
  const f = p.face;
  const n = faceNumber(f.faceIndex);
  return (
    <section class="face" aria-labelledby={`face-${f.faceIndex}`}>
      <h3 id={`face-${f.faceIndex}`}>{t.search.face(n)}</h3>
      {f.track && <p class="track-span">{t.search.trackSpan(n, clock(f.track.startSeconds), clock(f.track.endSeconds), f.track.frames)}</p>}
      <div class="row">
        <AuthImage path={`/v1/searches/${p.searchId}/faces/${f.faceIndex}/image`} alt={t.search.probeFace(n)} missing={t.search.probeCropMissing} />
        <p><QualityText quality={f.quality} /></p>
      </div>
      <CandidateList
        id={`local-${f.faceIndex}`}
        label={t.search.candidates(n)}
        candidates={f.candidates}
        image={(c) => (c.withheld ? null : `/v1/searches/${p.searchId}/faces/${f.faceIndex}/candidates/${c.rank}/image`)}
        empty={p.mode === 'screening' ? t.search.noHitForFace : t.search.noCandidate}
      />
    </section>
  );
}

/** What was searched and what came back, kept together: a new photo or a new search replaces both at once. */
interface Shown {
  result: SearchResult;
  /** blob: URL of the photo this result is about (revoked when it is replaced). */
  photo: string;
}

export function SearchView() {
  const { t, locale } = useI18n();
  const settings = useSettings();
  const policy = settings.raw.purpose;
  const watchlists = useWatchlists();
  const [file, setFile] = useState<File | null>(null);
  const [purpose, setPurpose] = useState(policy.allowed?.[0] ?? '');
  const [caseRef, setCaseRef] = useState('');
  const [mode, setMode] = useState('investigative');
  const [chosen, setChosen] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [shown, setShown] = useState<Shown | null>(null);
  // Each submit gets a number; an answer to an earlier submit arriving late is dropped.
  const attempt = useRef(0);

  const replace = (next: Shown | null) =>
    setShown((prev) => {
      if (prev && prev.photo !== next?.photo) URL.revokeObjectURL(prev.photo);
      return next;
    });
  useEffect(() => () => replace(null), []);

  const choose = (f: File | null) => {
    // A new photo invalidates everything shown about the previous one: result, boxes, banner, case-file link, error.
    attempt.current++;
    replace(null);
    setError(null);
    setBusy(false);
    setFile(f);
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!file) return setError(t.search.chooseFile);
    const mine = ++attempt.current;
    replace(null);
    setError(null);
    const form = new FormData();
    const video = isVideo(file);
    form.append(video ? 'video' : 'image', file);
    form.append('purpose', purpose);
    form.append('caseRef', caseRef);
    form.append('mode', mode);
    const usable = chosen.filter((id) => watchlists.items?.some((w) => w.id === id && (mode === 'screening' || w.access !== 'screen')));
    if (usable.length) form.append('watchlists', usable.join(','));
    setBusy(true);
    try {
      const result = await api<SearchResult>(video ? '/v1/searches/video' : '/v1/searches', { form });
      if (mine === attempt.current) replace({ result, photo: URL.createObjectURL(file) });
    } catch (err) {
      if (mine === attempt.current) setError(err);
    } finally {
      if (mine === attempt.current) setBusy(false);
    }
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    const f = e.dataTransfer?.files[0];
    if (f) choose(f);
  };
  const result = shown?.result;
  const hits = result?.faces.some((f) => f.candidates.length > 0);

  return (
    <>
      <h1>{t.search.title}</h1>
      <p class="notice" role="note">{t.search.notice}</p>
      <form onSubmit={submit} class="grid-form">
        <div class="drop" onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
          <Field label={t.search.photo} id="probe-file">
            <input id="probe-file" type="file" accept="image/jpeg,image/png,image/webp,video/mp4,video/webm,video/quicktime" required onChange={(e) => choose(e.currentTarget.files?.[0] ?? null)} />
          </Field>
          {file && <p>{t.search.selected(file.name)}</p>}
        </div>
        {policy.allowed ? (
          <Field label={t.search.purposeAllowed} id="purpose">
            <select id="purpose" required value={purpose} onChange={(e) => setPurpose(e.currentTarget.value)}>
              {policy.allowed.map((a) => <option key={a} value={a}>{a}</option>)}
            </select>
          </Field>
        ) : (
          <Field label={t.search.purpose} id="purpose" hint={policy.minLength > 1 ? t.search.purposeHint(policy.minLength) : undefined}>
            <input id="purpose" required minLength={policy.minLength} value={purpose} aria-describedby={policy.minLength > 1 ? 'purpose-hint' : undefined} onInput={(e) => setPurpose(e.currentTarget.value)} />
          </Field>
        )}
        <Field label={t.search.caseRef} id="case-ref">
          <input id="case-ref" required value={caseRef} onInput={(e) => setCaseRef(e.currentTarget.value)} />
        </Field>
        <Field label={t.search.mode} id="mode">
          <select id="mode" value={mode} onChange={(e) => setMode(e.currentTarget.value)}>
            <option value="investigative">{t.search.investigative}</option>
            <option value="screening">{t.search.screening}</option>
          </select>
        </Field>
        {watchlists.items && watchlists.items.length > 0 && <WatchlistChecks mode={mode} selected={chosen} onChange={setChosen} items={watchlists.items} />}
        <button type="submit" disabled={busy}>{busy ? t.search.running : t.search.run}</button>
        {busy && file && isVideo(file) && (
          <p role="status" class="video-progress">
            <progress aria-label={t.search.processingVideo} /> {t.search.processingVideo}
          </p>
        )}
      </form>
      <ErrorBox error={error ?? watchlists.error} />
      {shown && result && (
        <section aria-labelledby="result-h" class="result">
          <h2 id="result-h" tabIndex={-1}>{t.search.result(result.faces.length)}</h2>
          {result.mode === 'screening' && (
            <p class={hits ? 'banner hit' : 'banner nohit'} role="status">
              {hits ? t.search.hit : t.search.noHit}
            </p>
          )}
          {result.humanReviewRequired && <p>{t.search.reviewRequired(result.reviewReasons.map((r) => reviewReasonWords(r, locale)).join('; '))}</p>}
          <p>
            <button type="button" class="secondary" onClick={() => openReport(result.searchId).catch(setError)}>{t.search.openCaseFile}</button>{' '}
            <span class="secondary-text search-id">{t.search.searchId(result.searchId)}</span>
          </p>
          <ScoreLegend />
          {result.video ? <TrackTimeline result={result} /> : <ProbeWithBoxes src={shown.photo} result={result} />}
          {result.faces.map((f) => <FaceResult key={f.faceIndex} searchId={result.searchId} face={f} mode={result.mode} />)}
        </section>
      )}
      <JobsPanel />
    </>
  );
}
