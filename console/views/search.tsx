import { useEffect, useState } from 'preact/hooks';
import { api, errorText, openReport } from '../api';
import { AuthImage, ErrorBox, Field, fmr } from '../ui';
import { qualityIssueWords, reviewStateWords } from '../../src/domain/words';

interface Candidate { rank: number; subjectId: string; displayName: string; category: string; watchlist: string; faceId: string; similarity: number; estimatedFalseMatchRate: number; review?: { state: string } }
interface Face { faceIndex: number; box: { x: number; y: number; width: number; height: number }; quality: { score: number; issues: string[] }; candidates: Candidate[] }
export interface SearchResult { searchId: string; mode: string; probe: { width: number; height: number; facesDetected: number }; faces: Face[]; humanReviewRequired: boolean; reviewReasons: string[] }

/** The probe photo with a numbered box on every detected face (SVG over the image, in the image's pixel space). */
function ProbeWithBoxes(p: { src: string; result: SearchResult }) {
  const { width, height } = p.result.probe;
  return (
    <figure class="probe">
      <div class="probe-frame">
        <img src={p.src} alt={`Probe photo with ${p.result.faces.length} numbered face box(es)`} />
        <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" aria-hidden="true">
          {p.result.faces.map((f) => (
            <g key={f.faceIndex}>
              <rect x={f.box.x} y={f.box.y} width={f.box.width} height={f.box.height} class="facebox" vector-effect="non-scaling-stroke" />
              <text x={f.box.x + 4} y={f.box.y + Math.max(14, width / 40)} class="facelabel" font-size={Math.max(14, width / 40)}>
                {f.faceIndex}
              </text>
            </g>
          ))}
        </svg>
      </div>
      <figcaption>Faces are numbered as in the results below and in the case file.</figcaption>
    </figure>
  );
}

function FaceResult(p: { searchId: string; face: Face; mode: string }) {
  const f = p.face;
  return (
    <section class="face" aria-labelledby={`face-${f.faceIndex}`}>
      <h3 id={`face-${f.faceIndex}`}>Face {f.faceIndex}</h3>
      <div class="row">
        <AuthImage path={`/v1/searches/${p.searchId}/faces/${f.faceIndex}/image`} alt={`Probe face ${f.faceIndex}`} missing="probe crop not kept" />
        <p>
          Quality {f.quality.score.toFixed(2)}
          {f.quality.issues.length ? `: ${f.quality.issues.map(qualityIssueWords).join('; ')}.` : ' (no quality issue).'}
        </p>
      </div>
      {f.candidates.length === 0 ? (
        <p>{p.mode === 'screening' ? 'No watchlist hit for this face.' : 'No candidate for this face.'}</p>
      ) : (
        <ol class="candidates">
          {f.candidates.map((c) => (
            <li key={c.subjectId} class="candidate">
              <AuthImage path={`/v1/searches/${p.searchId}/faces/${f.faceIndex}/candidates/${c.rank}/image`} alt={`Enrolled face of ${c.displayName}`} missing="enrolled face not available" />
              <div>
                <p class="cand-name">Rank {c.rank}: {c.displayName}</p>
                <p class="fmr">Estimated false-match rate <strong>{fmr(c.estimatedFalseMatchRate)}</strong></p>
                <p class="secondary-text">similarity {c.similarity.toFixed(3)} · {c.category.replace('_', ' ')} · watchlist {c.watchlist}</p>
                {c.review && <p class="secondary-text">Review: {reviewStateWords(c.review.state)}</p>}
              </div>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

export function SearchView() {
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [purpose, setPurpose] = useState('');
  const [caseRef, setCaseRef] = useState('');
  const [mode, setMode] = useState('investigative');
  const [watchlists, setWatchlists] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<SearchResult | null>(null);

  useEffect(() => {
    if (!file) return setPreview(null);
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!file) return setError('Choose a probe photo.');
    const form = new FormData();
    form.append('image', file);
    form.append('purpose', purpose);
    form.append('caseRef', caseRef);
    form.append('mode', mode);
    if (watchlists.trim()) form.append('watchlists', watchlists);
    setBusy(true);
    setError(null);
    try {
      setResult(await api<SearchResult>('/v1/searches', { form }));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    const f = e.dataTransfer?.files[0];
    if (f) setFile(f);
  };
  const hits = result?.faces.some((f) => f.candidates.length > 0);

  return (
    <>
      <h1>Search a probe photo</h1>
      <p class="notice" role="note">Candidates are investigative leads, not identifications. Every search is audited and needs human review before anyone acts on it.</p>
      <form onSubmit={submit} class="grid-form">
        <div class="drop" onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
          <Field label="Probe photo (JPEG, PNG or WebP; drop it here or choose a file)" id="probe-file">
            <input id="probe-file" type="file" accept="image/jpeg,image/png,image/webp" required onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
          </Field>
          {file && <p>Selected: {file.name}</p>}
        </div>
        <Field label="Purpose (required)" id="purpose">
          <input id="purpose" required value={purpose} onInput={(e) => setPurpose(e.currentTarget.value)} />
        </Field>
        <Field label="Case reference (required)" id="case-ref">
          <input id="case-ref" required value={caseRef} onInput={(e) => setCaseRef(e.currentTarget.value)} />
        </Field>
        <Field label="Mode" id="mode">
          <select id="mode" value={mode} onChange={(e) => setMode(e.currentTarget.value)}>
            <option value="investigative">Investigative (ranked leads)</option>
            <option value="screening">Screening (watchlist hit or not)</option>
          </select>
        </Field>
        <Field label="Watchlists (optional, comma-separated)" id="watchlists">
          <input id="watchlists" value={watchlists} onInput={(e) => setWatchlists(e.currentTarget.value)} />
        </Field>
        <button type="submit" disabled={busy}>{busy ? 'Searching…' : 'Run search'}</button>
      </form>
      <ErrorBox error={error} />
      {result && preview && (
        <section aria-labelledby="result-h" class="result">
          <h2 id="result-h" tabIndex={-1}>Result: {result.faces.length} face(s)</h2>
          {result.mode === 'screening' && (
            <p class={hits ? 'banner hit' : 'banner nohit'} role="status">
              {hits ? 'Possible hit — human review required.' : 'No watchlist hit.'}
            </p>
          )}
          {result.humanReviewRequired && <p>Human review required: {result.reviewReasons.map((r) => r.toLowerCase().replace(/_/g, ' ')).join('; ')}.</p>}
          <p>
            <button type="button" class="secondary" onClick={() => openReport(result.searchId).catch((e) => setError(errorText(e)))}>Open the case file</button>{' '}
            <span class="secondary-text">Search id {result.searchId}</span>
          </p>
          <ProbeWithBoxes src={preview} result={result} />
          {result.faces.map((f) => <FaceResult key={f.faceIndex} searchId={result.searchId} face={f} mode={result.mode} />)}
        </section>
      )}
    </>
  );
}
