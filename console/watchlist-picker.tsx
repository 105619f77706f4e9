import { useEffect, useState } from 'preact/hooks';
import { api } from './api';
import { useI18n } from './i18n';

/** A watchlist as GET /v1/watchlists lists it for the caller (access: owner, search, or screen for a screening-only grant). */
export interface Watchlist {
  id: string;
  /** `customers`: the organization's own clients (never granted), screened in reverse against granted watchlists. */
  kind?: 'watchlist' | 'customers';
  name: string;
  organization: string;
  description: string | null;
  jurisdiction: string;
  legalBasis: string;
  retentionDays: number | null;
  createdAt: string;
  updatedAt: string;
  access?: 'owner' | 'search' | 'screen';
}

/** The caller's watchlists (own and granted), loaded once per mount; `reload` after a change. */
export function useWatchlists(): { items: Watchlist[] | null; error: unknown; reload: () => void } {
  const [items, setItems] = useState<Watchlist[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    api<{ items: Watchlist[] }>('/v1/watchlists')
      .then((r) => setItems(r.items))
      .catch(setError);
  }, [n]);
  return { items, error, reload: () => setN((x) => x + 1) };
}

/** "card-fraud (fraud-unit, granted)": a watchlist's name with its owner when it is not the caller's own. */
export function watchlistLabel(w: Watchlist, access: (a: string) => string) {
  return w.access && w.access !== 'owner' ? `${w.name} (${w.organization}, ${access(w.access)})` : w.name;
}

/**
 * Checkboxes for the watchlists a search may name. Screening-only grants are offered in screening mode only; none ticked means
 * every watchlist the caller may search.
 */
export function WatchlistChecks(p: { mode: string; selected: string[]; onChange: (ids: string[]) => void; items: Watchlist[] }) {
  const { t } = useI18n();
  const usable = p.items.filter((w) => p.mode === 'screening' || w.access !== 'screen');
  const toggle = (id: string) => p.onChange(p.selected.includes(id) ? p.selected.filter((x) => x !== id) : [...p.selected, id]);
  return (
    <fieldset class="inline watchlist-checks" aria-describedby="wl-hint">
      <legend>{t.search.watchlists}</legend>
      {usable.map((w) => (
        <label key={w.id}>
          <input type="checkbox" checked={p.selected.includes(w.id)} onChange={() => toggle(w.id)} /> {watchlistLabel(w, t.search.access)}
        </label>
      ))}
      <small id="wl-hint">{t.search.allWatchlists}</small>
    </fieldset>
  );
}
