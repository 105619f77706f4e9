import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { useI18n } from '../i18n';
import { ErrorBox } from '../ui';

interface Job {
  id: string;
  status: 'queued' | 'running' | 'done' | 'cancelled';
  caseRef: string;
  createdAt: string;
  items: { total: number; pending: number; done: number; failed: number; cancelled: number; withCandidates: number };
  ratePerSecond: number | null;
  etaSeconds: number | null;
}

/** How often the list is read again while a job is queued or running. */
const POLL_MS = 2000;

/** The organization's latest batch screening jobs, each with a progress bar, read again while any is still running. */
export function JobsPanel() {
  const { t } = useI18n();
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async () => {
      try {
        const r = await api<{ items: Job[] }>('/v1/jobs?limit=5');
        if (stopped) return;
        setJobs(r.items);
        setError(null);
        if (r.items.some((j) => j.status === 'queued' || j.status === 'running')) timer = setTimeout(() => void read(), POLL_MS);
      } catch (e) {
        if (!stopped) setError(e);
      }
    };
    void read();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);
  if (!jobs && !error) return null;
  return (
    <section aria-labelledby="jobs-h" class="jobs">
      <h2 id="jobs-h">{t.jobs.title}</h2>
      <p class="secondary-text">{t.jobs.intro}</p>
      <ErrorBox error={error} />
      {jobs && jobs.length === 0 && <p>{t.jobs.none}</p>}
      {jobs && jobs.length > 0 && (
        <ul class="job-list">
          {jobs.map((j) => {
            const finished = j.items.done + j.items.failed;
            return (
              <li key={j.id}>
                <strong>{j.caseRef}</strong> <span class="secondary-text">{t.jobs.status[j.status]}</span>
                <br />
                <progress max={j.items.total} value={finished + j.items.cancelled} aria-label={t.jobs.progress(j.caseRef)} />{' '}
                <span>{t.jobs.counts(finished, j.items.total, j.items.failed, j.items.withCandidates)}</span>
                {(j.status === 'running' || j.status === 'queued') && j.ratePerSecond !== null && j.etaSeconds !== null && <span class="secondary-text"> · {t.jobs.eta(j.ratePerSecond, j.etaSeconds)}</span>}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
