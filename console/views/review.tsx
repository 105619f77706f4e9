import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api';
import { AuthImage, ErrorBox, Field, fmr, when } from '../ui';
import { CHECKLIST_FEATURES, CHECKLIST_VALUES, FEATURE_LABELS } from '../../src/domain/feature-checklist';
import { qualityIssueWords, reviewStateWords } from '../../src/domain/words';
import { Compare } from './compare';

interface QueueItem {
  searchId: string; createdAt: string; mode: string; purpose: string; caseRef: string; organization: string; faceIndex: number; rank: number;
  face: { quality: { score: number; issues: string[] } };
  candidate: { rank: number; subjectId: string; displayName: string; category: string; watchlist: string; faceId: string; similarity: number; estimatedFalseMatchRate: number };
}

function OtherFaces(p: { subjectId: string; except: string }) {
  const [faces, setFaces] = useState<Array<{ id: string }> | null>(null);
  useEffect(() => {
    api<{ faces: Array<{ id: string }> }>(`/v1/subjects/${p.subjectId}`).then((s) => setFaces(s.faces)).catch(() => setFaces([]));
  }, [p.subjectId]);
  const others = (faces ?? []).filter((f) => f.id !== p.except);
  if (!faces) return <p>Loading the subject's other faces…</p>;
  if (!others.length) return <p class="secondary-text">The subject has no other enrolled face.</p>;
  return (
    <div class="row">
      {others.map((f) => <AuthImage key={f.id} path={`/v1/subjects/${p.subjectId}/faces/${f.id}/image?variant=crop`} alt="Another enrolled face of the subject" size={80} />)}
    </div>
  );
}

function Decide(p: { item: QueueItem; onDone: (msg: string) => void }) {
  const { item } = p;
  const [checklist, setChecklist] = useState<Record<string, string>>({});
  const [decision, setDecision] = useState('');
  const [rationale, setRationale] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!decision) return setError('Choose a decision.');
    if (!rationale.trim()) return setError('A rationale is required.');
    try {
      const r = await api<{ candidateReview: { state: string } }>(`/v1/searches/${item.searchId}/reviews`, {
        json: { faceIndex: item.faceIndex, subjectId: item.candidate.subjectId, decision, rationale, checklist },
      });
      p.onDone(`Decision recorded (${decision}). The candidate is now: ${reviewStateWords(r.candidateReview.state)}.`);
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form onSubmit={submit} class="decide">
      <fieldset>
        <legend>Feature comparison (FISWG feature list)</legend>
        <table class="checklist">
          <thead><tr><th scope="col">Feature</th>{CHECKLIST_VALUES.map((v) => <th scope="col" key={v}>{v.replace('_', ' ')}</th>)}</tr></thead>
          <tbody>
            {CHECKLIST_FEATURES.map((f) => (
              <tr key={f}>
                <th scope="row" id={`feat-${f}`}>{FEATURE_LABELS[f]}</th>
                {CHECKLIST_VALUES.map((v) => (
                  <td key={v}>
                    <input type="radio" name={`feat-${f}`} value={v} aria-label={`${FEATURE_LABELS[f]}: ${v.replace('_', ' ')}`} checked={checklist[f] === v} onChange={() => setChecklist({ ...checklist, [f]: v })} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </fieldset>
      <fieldset class="inline">
        <legend>Decision (required)</legend>
        {['confirmed', 'rejected', 'inconclusive'].map((d) => (
          <label key={d}><input type="radio" name="decision" value={d} checked={decision === d} onChange={() => setDecision(d)} required /> {d === 'confirmed' ? 'Same person (confirm)' : d === 'rejected' ? 'Different person (reject)' : 'Inconclusive'}</label>
        ))}
      </fieldset>
      <Field label="Rationale (required)" id="rationale">
        <textarea id="rationale" required rows={3} value={rationale} onInput={(e) => setRationale(e.currentTarget.value)} />
      </Field>
      <button type="submit">Record decision</button>
      <ErrorBox error={error} />
    </form>
  );
}

export function ReviewView() {
  const [items, setItems] = useState<QueueItem[] | null>(null);
  const [selected, setSelected] = useState<QueueItem | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => api<{ items: QueueItem[] }>('/v1/reviews/queue?limit=100').then((q) => setItems(q.items)).catch((e) => setError(errorText(e)));
  useEffect(() => void load(), []);
  const key = (i: QueueItem) => `${i.searchId}:${i.faceIndex}:${i.rank}`;

  return (
    <>
      <h1>Review queue</h1>
      <p class="notice" role="note">Blind review: other reviewers' decisions stay hidden until you record yours. Searches you ran are not offered to you.</p>
      {message && <p class="ok" role="status">{message}</p>}
      <ErrorBox error={error} />
      {items && items.length === 0 && <p>Nothing awaits your decision.</p>}
      {items && items.length > 0 && (
        <ul class="queue" aria-label="Candidates awaiting your decision, oldest first">
          {items.map((i) => (
            <li key={key(i)}>
              <button type="button" class={selected && key(selected) === key(i) ? 'selected' : 'secondary'} aria-pressed={selected ? key(selected) === key(i) : false} onClick={() => { setSelected(i); setMessage(null); }}>
                {i.caseRef} · face {i.faceIndex} · rank {i.rank}: {i.candidate.displayName} · {when(i.createdAt)}
              </button>
            </li>
          ))}
        </ul>
      )}
      {selected && (
        <section aria-labelledby="cand-h" key={key(selected)}>
          <h2 id="cand-h">Case {selected.caseRef}: face {selected.faceIndex}, candidate {selected.rank} ({selected.candidate.displayName})</h2>
          <p>
            Purpose: {selected.purpose}. Estimated false-match rate <strong>{fmr(selected.candidate.estimatedFalseMatchRate)}</strong>
            <span class="secondary-text"> (similarity {selected.candidate.similarity.toFixed(3)})</span>. Probe quality {selected.face.quality.score.toFixed(2)}
            {selected.face.quality.issues.length ? `: ${selected.face.quality.issues.map(qualityIssueWords).join('; ')}` : ''}.
          </p>
          <Compare
            probe={`/v1/searches/${selected.searchId}/faces/${selected.faceIndex}/image`}
            candidate={`/v1/searches/${selected.searchId}/faces/${selected.faceIndex}/candidates/${selected.rank}/image`}
            candidateName={selected.candidate.displayName}
          />
          <h3>The subject's other enrolled faces</h3>
          <OtherFaces subjectId={selected.candidate.subjectId} except={selected.candidate.faceId} />
          <Decide item={selected} onDone={(m) => { setMessage(m); setSelected(null); void load(); }} />
        </section>
      )}
    </>
  );
}
