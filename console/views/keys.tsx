import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { useI18n } from '../i18n';
import { ErrorBox, Field } from '../ui';
import { roleWords } from '../../src/shared/words';

interface Key { id: string; roles: string[]; organization: string; holder: string; label: string | null; createdAt: string; revokedAt: string | null; lastUsedAt?: string | null }
const ROLES = ['searcher', 'reviewer', 'enroller', 'auditor', 'admin'];

/** API keys (admin): create one for a named holder (the secret is shown once), list with state and last use, revoke. */
export function KeysView() {
  const { t, fmt, locale } = useI18n();
  const [items, setItems] = useState<Key[]>([]);
  const [f, setF] = useState({ holder: '', organization: '', label: '', roles: [] as string[] });
  const [created, setCreated] = useState<(Key & { key: string }) | null>(null);
  const [showRevoked, setShowRevoked] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const load = () => api<{ items: Key[] }>('/v1/keys').then((r) => setItems(r.items)).catch(setError);
  useEffect(() => void load(), []);
  const create = async (e: Event) => {
    e.preventDefault();
    if (!f.roles.length) return setError(t.keys.chooseRole);
    setError(null);
    try {
      setCreated(await api<Key & { key: string }>('/v1/keys', { json: { roles: f.roles, organization: f.organization.trim(), holder: f.holder.trim(), ...(f.label ? { label: f.label } : {}) } }));
      setF({ holder: '', organization: f.organization, label: '', roles: [] });
      void load();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (id: string) => {
    // Revocation is immediate and final (API.md): ask first, naming whose key it is.
    if (!window.confirm(`Revoke the key of ${items.find((k) => k.id === id)?.holder ?? id}? It stops working at once and cannot be restored.`)) return;
    try {
      await api(`/v1/keys/${id}`, { method: 'DELETE' });
      void load();
    } catch (err) {
      setError(err);
    }
  };
  const toggle = (r: string) => setF({ ...f, roles: f.roles.includes(r) ? f.roles.filter((x) => x !== r) : [...f.roles, r] });
  const shown = items.filter((k) => showRevoked || !k.revokedAt);
  return (
    <>
      <h1>{t.keys.title}</h1>
      <form onSubmit={create} class="grid-form" aria-labelledby="newkey-h">
        <h2 id="newkey-h">{t.keys.newKey}</h2>
        <Field label={t.keys.holder} id="k-holder"><input id="k-holder" required value={f.holder} onInput={(e) => setF({ ...f, holder: e.currentTarget.value })} /></Field>
        <Field label={t.keys.organization} id="k-org"><input id="k-org" required list="k-orgs" value={f.organization} onInput={(e) => setF({ ...f, organization: e.currentTarget.value })} /></Field>
        <datalist id="k-orgs">{[...new Set(items.map((k) => k.organization))].map((o) => <option key={o} value={o} />)}</datalist>
        <Field label={t.keys.label} id="k-label"><input id="k-label" value={f.label} onInput={(e) => setF({ ...f, label: e.currentTarget.value })} /></Field>
        <fieldset class="inline">
          <legend>{t.keys.roles}</legend>
          {ROLES.map((r) => <label key={r}><input type="checkbox" checked={f.roles.includes(r)} onChange={() => toggle(r)} /> {roleWords(r, locale)}</label>)}
        </fieldset>
        <button type="submit">{t.keys.create}</button>
      </form>
      <ErrorBox error={error} />
      {created && (
        <p class="notice" role="status">
          {t.keys.createdKey(created.holder, created.roles.map((r) => roleWords(r, locale)).join(', '), created.organization)} <code class="secret">{created.key}</code>
        </p>
      )}
      <label class="check"><input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked(e.currentTarget.checked)} /> {t.keys.showRevoked}</label>
      <div class="table-wrap">
        <table>
          <caption>{t.keys.table}</caption>
          <thead>
            <tr>
              <th scope="col">{t.keys.holderCol}</th><th scope="col">{t.keys.organization}</th><th scope="col">{t.keys.rolesCol}</th><th scope="col">{t.keys.labelCol}</th>
              <th scope="col">{t.keys.createdCol}</th><th scope="col">{t.keys.lastUsedCol}</th><th scope="col">{t.keys.stateCol}</th><th scope="col"><span class="sr-only">{t.keys.revoke}</span></th>
            </tr>
          </thead>
          <tbody>
            {shown.map((k) => (
              <tr key={k.id}>
                <td>{k.holder}</td><td>{k.organization}</td><td>{k.roles.map((r) => roleWords(r, locale)).join(', ')}</td><td>{k.label ?? t.common.none}</td><td>{fmt.dateTime(k.createdAt)}</td>
                <td>{k.lastUsedAt ? fmt.dateTime(k.lastUsedAt) : t.keys.neverUsed}</td>
                <td>{k.revokedAt ? t.keys.revoked(fmt.dateTime(k.revokedAt)) : t.keys.active}</td>
                <td>{!k.revokedAt && <button type="button" class="secondary" aria-label={t.keys.revokeLabel(k.holder)} onClick={() => revoke(k.id)}>{t.keys.revoke}</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
