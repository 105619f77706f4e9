import { useEffect, useState } from 'preact/hooks';
import { api, type Me } from '../api';
import { useI18n } from '../i18n';
import { ErrorBox, Field } from '../ui';
import { useWatchlists, type Watchlist } from '../watchlist-picker';
import { WebhookPanel } from './webhook';

interface Grant { id: string; watchlistId: string; organization: string; access: 'search' | 'screen'; expiresAt: string | null; createdAt: string; state: 'pending' | 'active' | 'declined' | 'revoked'; revokedAt: string | null }
/** A grant made to the caller's organization (GET /v1/grants): which watchlist, whose. */
interface ReceivedGrant extends Grant { watchlist: string; owner: string }

/** The end of the chosen day in the user's own time zone, as the API's ISO 8601 instant; null for no expiry. */
const endOfDay = (date: string) => (date ? new Date(`${date}T23:59:59`).toISOString() : null);

/** Fields of a watchlist as the create and edit forms hold them (retention as text: empty means none). */
interface Fields { name: string; description: string; jurisdiction: string; legalBasis: string; retentionDays: string; kind: 'watchlist' | 'customers' }
const fieldsOf = (w?: Watchlist): Fields => ({
  kind: w?.kind ?? 'watchlist',
  name: w?.name ?? '',
  description: w?.description ?? '',
  jurisdiction: w?.jurisdiction ?? '',
  legalBasis: w?.legalBasis ?? '',
  retentionDays: w?.retentionDays ? String(w.retentionDays) : '',
});
const bodyOf = (f: Fields) => ({
  name: f.name.trim(),
  description: f.description.trim() || null,
  jurisdiction: f.jurisdiction.trim(),
  legalBasis: f.legalBasis.trim(),
  retentionDays: f.retentionDays ? Number(f.retentionDays) : null,
});

function WatchlistForm(p: { id: string; initial: Fields; submitLabel: string; disabled?: boolean; withKind?: boolean; onSubmit: (f: Fields) => Promise<void> }) {
  const { t } = useI18n();
  const [f, setF] = useState(p.initial);
  const set = (k: keyof Fields) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  return (
    <form class="grid-form" onSubmit={(e) => { e.preventDefault(); void p.onSubmit(f); }}>
      {p.withKind && (
        <Field label={t.watchlists.kind} id={`${p.id}-kind`}>
          <select id={`${p.id}-kind`} value={f.kind} onChange={set('kind')}>
            <option value="watchlist">{t.watchlists.kindWatchlist}</option>
            <option value="customers">{t.watchlists.kindCustomers}</option>
          </select>
        </Field>
      )}
      <Field label={t.watchlists.name} id={`${p.id}-name`} hint={t.watchlists.nameHint}>
        <input id={`${p.id}-name`} required pattern="[A-Za-z0-9._\-]+" maxLength={100} disabled={p.disabled} value={f.name} aria-describedby={`${p.id}-name-hint`} onInput={set('name')} />
      </Field>
      <Field label={t.watchlists.jurisdiction} id={`${p.id}-jur`}><input id={`${p.id}-jur`} required disabled={p.disabled} value={f.jurisdiction} onInput={set('jurisdiction')} /></Field>
      <Field label={t.watchlists.legalBasis} id={`${p.id}-legal`}><input id={`${p.id}-legal`} required disabled={p.disabled} value={f.legalBasis} onInput={set('legalBasis')} /></Field>
      <Field label={t.watchlists.retentionField} id={`${p.id}-ret`}>
        <input id={`${p.id}-ret`} type="number" min={1} max={36500} disabled={p.disabled} value={f.retentionDays} onInput={set('retentionDays')} />
      </Field>
      <Field label={t.watchlists.description} id={`${p.id}-desc`}><textarea id={`${p.id}-desc`} rows={2} disabled={p.disabled} value={f.description} onInput={set('description')} /></Field>
      {!p.disabled && <button type="submit">{p.submitLabel}</button>}
    </form>
  );
}

/** Organizations a grant may name: those of the keys an admin can see and of earlier grants (typing another is allowed). */
function useOrganizations(me: Me, grants: Grant[]): string[] {
  const [fromKeys, setFromKeys] = useState<string[]>([]);
  useEffect(() => {
    if (!me.roles.includes('admin')) return;
    api<{ items: Array<{ organization: string }> }>('/v1/keys').then((r) => setFromKeys(r.items.map((k) => k.organization))).catch(() => setFromKeys([]));
  }, [me.id]);
  return [...new Set([...fromKeys, ...grants.map((g) => g.organization)])].filter((o) => o !== '*' && o !== me.organization).sort();
}

function Grants(p: { me: Me; watchlist: Watchlist }) {
  const { t, fmt } = useI18n();
  const [items, setItems] = useState<Grant[]>([]);
  const [f, setF] = useState({ organization: '', access: 'screen', expires: '' });
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const isAdmin = p.me.roles.includes('admin');
  const orgs = useOrganizations(p.me, items);
  const load = () => api<{ items: Grant[] }>(`/v1/watchlists/${p.watchlist.id}/grants`).then((r) => setItems(r.items)).catch(setError);
  useEffect(() => void load(), [p.watchlist.id]);
  const grant = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const g = await api<Grant>(`/v1/watchlists/${p.watchlist.id}/grants`, { json: { organization: f.organization.trim(), access: f.access, expiresAt: endOfDay(f.expires) } });
      setMessage(t.watchlists.granted(g.organization));
      setF({ organization: '', access: f.access, expires: '' });
      void load();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (g: Grant) => {
    setError(null);
    try {
      await api(`/v1/watchlists/${p.watchlist.id}/grants/${g.id}`, { method: 'DELETE' });
      setMessage(t.watchlists.revoked(g.organization));
      void load();
    } catch (err) {
      setError(err);
    }
  };
  const state = (g: Grant) =>
    g.revokedAt
      ? t.watchlists.grantRevoked(fmt.dateTime(g.revokedAt))
      : g.state === 'declined'
        ? t.watchlists.grantDeclined
        : g.expiresAt && Date.parse(g.expiresAt) <= Date.now()
          ? t.watchlists.grantExpired
          : g.state === 'pending'
            ? t.watchlists.grantPending
            : t.watchlists.grantActive;
  return (
    <section aria-labelledby="grants-h">
      <h3 id="grants-h">{t.watchlists.grants}</h3>
      {message && <p class="ok" role="status">{message}</p>}
      {items.length === 0 ? (
        <p>{t.watchlists.grantsNone}</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">{t.watchlists.grants}</caption>
            <thead><tr><th scope="col">{t.watchlists.grantOrg}</th><th scope="col">{t.watchlists.grantAccess}</th><th scope="col">{t.watchlists.grantExpiry}</th><th scope="col">{t.watchlists.grantState}</th>{isAdmin && <th scope="col"><span class="sr-only">{t.watchlists.revoke}</span></th>}</tr></thead>
            <tbody>
              {items.map((g) => (
                <tr key={g.id}>
                  <td>{g.organization}</td>
                  <td>{g.access === 'search' ? t.watchlists.grantSearch : t.watchlists.grantScreen}</td>
                  <td>{g.expiresAt ? t.watchlists.grantUntil(fmt.dateTime(g.expiresAt)) : t.watchlists.grantForever}</td>
                  <td>{state(g)}</td>
                  {isAdmin && <td>{!g.revokedAt && g.state !== 'declined' && <button type="button" class="secondary" aria-label={t.watchlists.revokeLabel(g.organization)} onClick={() => revoke(g)}>{t.watchlists.revoke}</button>}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {isAdmin ? (
        <form class="inline" onSubmit={grant} aria-label={t.watchlists.grant}>
          <Field label={t.watchlists.grantOrg} id="g-org">
            <input id="g-org" list="g-orgs" required pattern="[A-Za-z0-9._\-]+" value={f.organization} onInput={(e) => setF({ ...f, organization: e.currentTarget.value })} />
          </Field>
          <datalist id="g-orgs">{orgs.map((o) => <option key={o} value={o} />)}</datalist>
          <Field label={t.watchlists.grantAccess} id="g-access">
            <select id="g-access" value={f.access} onChange={(e) => setF({ ...f, access: e.currentTarget.value })}>
              <option value="screen">{t.watchlists.grantScreen}</option>
              <option value="search">{t.watchlists.grantSearch}</option>
            </select>
          </Field>
          <Field label={t.watchlists.grantExpires} id="g-exp">
            <input id="g-exp" type="date" value={f.expires} onInput={(e) => setF({ ...f, expires: e.currentTarget.value })} />
          </Field>
          <button type="submit">{t.watchlists.grant}</button>
        </form>
      ) : (
        <p class="secondary-text">{t.watchlists.adminOnlyGrants}</p>
      )}
      <ErrorBox error={error} />
    </section>
  );
}

/** Pending grants made to the admin's organization, each accepted or declined here (a pending grant gives no access). */
function ReceivedGrants(p: { onAnswered: () => void }) {
  const { t, fmt } = useI18n();
  const [items, setItems] = useState<ReceivedGrant[] | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => api<{ items: ReceivedGrant[] }>('/v1/grants').then((r) => setItems(r.items.filter((g) => g.state === 'pending'))).catch(setError);
  useEffect(() => void load(), []);
  const answer = async (g: ReceivedGrant, how: 'accept' | 'decline') => {
    setError(null);
    try {
      await api(`/v1/grants/${g.id}/${how}`, { method: 'POST' });
      setMessage(how === 'accept' ? t.watchlists.accepted(g.watchlist) : t.watchlists.declined(g.watchlist));
      void load();
      p.onAnswered();
    } catch (err) {
      setError(err);
    }
  };
  if (!items?.length && !message && !error) return null;
  return (
    <section aria-labelledby="received-h">
      <h2 id="received-h">{t.watchlists.received}</h2>
      <p>{t.watchlists.receivedIntro}</p>
      {message && <p class="ok" role="status">{message}</p>}
      {!!items?.length && (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">{t.watchlists.received}</caption>
            <thead><tr><th scope="col">{t.watchlists.receivedWatchlist}</th><th scope="col">{t.watchlists.receivedOwner}</th><th scope="col">{t.watchlists.grantAccess}</th><th scope="col">{t.watchlists.grantExpiry}</th><th scope="col"><span class="sr-only">{t.watchlists.accept}</span></th></tr></thead>
            <tbody>
              {items.map((g) => (
                <tr key={g.id}>
                  <td>{g.watchlist}</td>
                  <td>{g.owner}</td>
                  <td>{g.access === 'search' ? t.watchlists.grantSearch : t.watchlists.grantScreen}</td>
                  <td>{g.expiresAt ? t.watchlists.grantUntil(fmt.dateTime(g.expiresAt)) : t.watchlists.grantForever}</td>
                  <td>
                    <button type="button" aria-label={t.watchlists.acceptLabel(g.watchlist, g.owner)} onClick={() => answer(g, 'accept')}>{t.watchlists.accept}</button>{' '}
                    <button type="button" class="secondary" aria-label={t.watchlists.declineLabel(g.watchlist, g.owner)} onClick={() => answer(g, 'decline')}>{t.watchlists.decline}</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ErrorBox error={error} />
    </section>
  );
}

/** The reverse screening set on a grant made to the caller's organization (GET /v1/grants/{id}/reverse-screening). */
interface Reverse { grantId: string; customersWatchlistId: string; customersWatchlist: string; purpose: string; caseRef: string; enabledAt: string }

/**
 * Active grants made to the admin's organization, each with its reverse screening: off, or on for one of the organization's
 * customers watchlists (turned on with a purpose and case reference, as every search states them).
 */
function ReverseScreenings(p: { customers: Watchlist[] }) {
  const { t } = useI18n();
  const [items, setItems] = useState<Array<{ grant: ReceivedGrant; reverse: Reverse | null }> | null>(null);
  const [form, setForm] = useState<Record<string, { customers: string; purpose: string; caseRef: string }>>({});
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = async () => {
    try {
      const grants = (await api<{ items: ReceivedGrant[] }>('/v1/grants')).items.filter((g) => g.state === 'active');
      const settings = await Promise.all(
        grants.map((g) =>
          api<Reverse>(`/v1/grants/${g.id}/reverse-screening`).catch((e: unknown) => {
            if ((e as { status?: number }).status === 404) return null;
            throw e;
          }),
        ),
      );
      setItems(grants.map((grant, i) => ({ grant, reverse: settings[i]! })));
    } catch (err) {
      setError(err);
    }
  };
  useEffect(() => void load(), []);
  const fieldsFor = (g: ReceivedGrant) => form[g.id] ?? { customers: p.customers[0]?.id ?? '', purpose: '', caseRef: '' };
  const setField = (g: ReceivedGrant, k: 'customers' | 'purpose' | 'caseRef') => (e: Event) =>
    setForm({ ...form, [g.id]: { ...fieldsFor(g), [k]: (e.currentTarget as HTMLInputElement).value } });
  const enable = async (g: ReceivedGrant) => {
    setError(null);
    const f = fieldsFor(g);
    try {
      await api(`/v1/grants/${g.id}/reverse-screening`, { method: 'PUT', json: { customersWatchlist: f.customers || p.customers[0]?.id, purpose: f.purpose.trim(), caseRef: f.caseRef.trim() } });
      setMessage(t.watchlists.reverseEnabled(g.watchlist));
      void load();
    } catch (err) {
      setError(err);
    }
  };
  const disable = async (g: ReceivedGrant) => {
    setError(null);
    try {
      await api(`/v1/grants/${g.id}/reverse-screening`, { method: 'DELETE' });
      setMessage(t.watchlists.reverseDisabled(g.watchlist));
      void load();
    } catch (err) {
      setError(err);
    }
  };
  if (!items?.length && !error) return null;
  return (
    <section aria-labelledby="reverse-h">
      <h2 id="reverse-h">{t.watchlists.reverse}</h2>
      <p>{t.watchlists.reverseIntro}</p>
      {message && <p class="ok" role="status">{message}</p>}
      {!p.customers.length && <p class="notice">{t.watchlists.reverseNoCustomers}</p>}
      {!!items?.length && (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">{t.watchlists.reverse}</caption>
            <thead><tr><th scope="col">{t.watchlists.receivedWatchlist}</th><th scope="col">{t.watchlists.receivedOwner}</th><th scope="col">{t.watchlists.reverse}</th><th scope="col"><span class="sr-only">{t.watchlists.reverseEnable}</span></th></tr></thead>
            <tbody>
              {items.map(({ grant: g, reverse: r }) => {
                const f = fieldsFor(g);
                return (
                  <tr key={g.id}>
                    <td>{g.watchlist}</td>
                    <td>{g.owner}</td>
                    <td>{r ? t.watchlists.reverseOn(r.customersWatchlist) : t.watchlists.reverseOff}</td>
                    <td>
                      {r ? (
                        <button type="button" class="secondary" aria-label={t.watchlists.reverseDisableLabel(g.watchlist, g.owner)} onClick={() => disable(g)}>{t.watchlists.reverseDisable}</button>
                      ) : p.customers.length ? (
                        <form class="row" onSubmit={(e) => { e.preventDefault(); void enable(g); }} aria-label={t.watchlists.reverseEnableLabel(g.watchlist, g.owner)}>
                          <label>{t.watchlists.reverseCustomers}{' '}
                            <select value={f.customers} onChange={setField(g, 'customers')}>
                              {p.customers.map((w) => <option key={w.id} value={w.id}>{w.name}</option>)}
                            </select>
                          </label>{' '}
                          <label>{t.watchlists.reversePurpose} <input required maxLength={1000} value={f.purpose} onInput={setField(g, 'purpose')} /></label>{' '}
                          <label>{t.watchlists.reverseCaseRef} <input required maxLength={200} value={f.caseRef} onInput={setField(g, 'caseRef')} /></label>{' '}
                          <button type="submit" aria-label={t.watchlists.reverseEnableLabel(g.watchlist, g.owner)}>{t.watchlists.reverseEnable}</button>
                        </form>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <ErrorBox error={error} />
    </section>
  );
}

function WatchlistPanel(p: { me: Me; watchlist: Watchlist; onChanged: () => void; onDeleted: (msg: string) => void }) {
  const { t } = useI18n();
  const [w, setW] = useState(p.watchlist);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState(false);
  const owner = w.access === 'owner';
  const save = async (f: Fields) => {
    setError(null);
    try {
      setW({ ...(await api<Watchlist>(`/v1/watchlists/${w.id}`, { method: 'PATCH', json: bodyOf(f) })), access: w.access });
      setMessage(t.watchlists.saved);
      p.onChanged();
    } catch (err) {
      setError(err);
    }
  };
  const remove = async () => {
    try {
      const r = await api<{ subjectsErased: unknown[] }>(`/v1/watchlists/${w.id}`, { method: 'DELETE' });
      p.onDeleted(t.watchlists.deleted(w.name, r.subjectsErased.length));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="wl-h" class="panel">
      <h2 id="wl-h" tabIndex={-1}>{w.name}</h2>
      <p>{t.watchlists.organization(w.organization)} · {t.watchlists.accessWords(w.access ?? 'owner')}</p>
      {!owner && <p class="notice">{t.watchlists.notOwner}</p>}
      {message && <p class="ok" role="status">{message}</p>}
      <h3>{t.watchlists.details}</h3>
      <WatchlistForm id="edit" initial={fieldsOf(w)} submitLabel={t.common.save} disabled={!owner} onSubmit={save} />
      {owner && w.kind !== 'customers' && <Grants me={p.me} watchlist={w} />}
      {owner && (
        <p>
          {!confirming ? (
            <button type="button" class="danger" onClick={() => setConfirming(true)}>{t.watchlists.delete}</button>
          ) : (
            <span role="alert">
              {t.watchlists.deleteConfirm(w.name)}{' '}
              <button type="button" class="danger" onClick={remove}>{t.watchlists.deletePermanently}</button>{' '}
              <button type="button" class="secondary" onClick={() => setConfirming(false)}>{t.common.cancel}</button>
            </span>
          )}
        </p>
      )}
      <ErrorBox error={error} />
    </section>
  );
}

/** Watchlists for enrollers and admins: create, edit (retention included), grants with expiry and revocation; the webhook. */
export function WatchlistsView(p: { me: Me }) {
  const { t } = useI18n();
  const { items, error, reload } = useWatchlists();
  const [selected, setSelected] = useState<Watchlist | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [createError, setCreateError] = useState<unknown>(null);
  const [formKey, setFormKey] = useState(0);
  const create = async (f: Fields) => {
    setCreateError(null);
    try {
      const w = await api<Watchlist>('/v1/watchlists', { json: { ...bodyOf(f), kind: f.kind } });
      setMessage(t.watchlists.created(w.name));
      setFormKey((k) => k + 1);
      reload();
    } catch (err) {
      setCreateError(err);
    }
  };
  if (selected) {
    return (
      <>
        <button type="button" class="secondary" onClick={() => { setSelected(null); reload(); }}>{t.watchlists.back}</button>
        <WatchlistPanel me={p.me} watchlist={selected} onChanged={reload} onDeleted={(m) => { setMessage(m); setSelected(null); reload(); }} />
      </>
    );
  }
  return (
    <>
      <h1>{t.watchlists.title}</h1>
      <p>{t.watchlists.intro}</p>
      {message && <p class="ok" role="status">{message}</p>}
      <ErrorBox error={error} />
      {p.me.roles.includes('admin') && <ReceivedGrants onAnswered={reload} />}
      {p.me.roles.includes('admin') && <ReverseScreenings customers={(items ?? []).filter((w) => w.kind === 'customers' && w.access === 'owner')} />}
      <div class="table-wrap">
        <table>
          <caption>{t.watchlists.list}</caption>
          <thead><tr><th scope="col">{t.watchlists.name}</th><th scope="col">{t.watchlists.grantOrg}</th><th scope="col">{t.watchlists.access}</th><th scope="col">{t.watchlists.jurisdiction}</th><th scope="col">{t.watchlists.retention}</th></tr></thead>
          <tbody>
            {(items ?? []).map((w) => (
              <tr key={w.id}>
                <td>
                  <button type="button" class="link" aria-label={t.watchlists.open(w.name)} onClick={() => setSelected(w)}>{w.name}</button>
                  {w.kind === 'customers' && <span class="secondary-text"> ({t.watchlists.customersTag})</span>}
                </td>
                <td>{w.organization}</td>
                <td>{t.watchlists.accessWords(w.access ?? 'owner')}</td>
                <td>{w.jurisdiction}</td>
                <td>{w.retentionDays ? t.watchlists.retentionDays(w.retentionDays) : t.watchlists.noRetention}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <section aria-labelledby="new-wl-h">
        <h2 id="new-wl-h">{t.watchlists.newWatchlist}</h2>
        <WatchlistForm key={formKey} id="new" initial={fieldsOf()} submitLabel={t.watchlists.create} withKind onSubmit={create} />
        <ErrorBox error={createError} />
      </section>
      {p.me.roles.includes('admin') && <WebhookPanel />}
    </>
  );
}
