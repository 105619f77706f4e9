import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from '../api';
import { ErrorBox, Field, when } from '../ui';

interface Key { id: string; roles: string[]; organization: string; holder: string; label: string | null; createdAt: string; revokedAt: string | null }
const ROLES = ['searcher', 'reviewer', 'enroller', 'auditor', 'admin'];

/** API keys (admin): create one for a named holder (the secret is shown once), list, revoke. */
export function KeysView() {
  const [items, setItems] = useState<Key[]>([]);
  const [f, setF] = useState({ holder: '', organization: '', label: '', roles: [] as string[] });
  const [created, setCreated] = useState<(Key & { key: string }) | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => api<{ items: Key[] }>('/v1/keys').then((r) => setItems(r.items)).catch((e) => setError(errorText(e)));
  useEffect(() => void load(), []);
  const create = async (e: Event) => {
    e.preventDefault();
    if (!f.roles.length) return setError('Choose at least one role.');
    setError(null);
    try {
      setCreated(await api<Key & { key: string }>('/v1/keys', { json: { roles: f.roles, organization: f.organization.trim(), holder: f.holder.trim(), ...(f.label ? { label: f.label } : {}) } }));
      setF({ holder: '', organization: f.organization, label: '', roles: [] });
      void load();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const revoke = async (id: string) => {
    try {
      await api(`/v1/keys/${id}`, { method: 'DELETE' });
      void load();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const toggle = (r: string) => setF({ ...f, roles: f.roles.includes(r) ? f.roles.filter((x) => x !== r) : [...f.roles, r] });
  return (
    <>
      <h1>API keys</h1>
      <form onSubmit={create} class="grid-form" aria-labelledby="newkey-h">
        <h2 id="newkey-h">New key</h2>
        <Field label="Holder (the person or system using the key)" id="k-holder"><input id="k-holder" required value={f.holder} onInput={(e) => setF({ ...f, holder: e.currentTarget.value })} /></Field>
        <Field label="Organization" id="k-org"><input id="k-org" required value={f.organization} onInput={(e) => setF({ ...f, organization: e.currentTarget.value })} /></Field>
        <Field label="Label (optional)" id="k-label"><input id="k-label" value={f.label} onInput={(e) => setF({ ...f, label: e.currentTarget.value })} /></Field>
        <fieldset class="inline">
          <legend>Roles</legend>
          {ROLES.map((r) => <label key={r}><input type="checkbox" checked={f.roles.includes(r)} onChange={() => toggle(r)} /> {r}</label>)}
        </fieldset>
        <button type="submit">Create key</button>
      </form>
      <ErrorBox error={error} />
      {created && (
        <p class="notice" role="status">
          Key for {created.holder} ({created.roles.join(', ')}, {created.organization}). Copy it now, it is shown only once: <code class="secret">{created.key}</code>
        </p>
      )}
      <div class="table-wrap">
        <table>
          <caption>Keys</caption>
          <thead><tr><th scope="col">Holder</th><th scope="col">Organization</th><th scope="col">Roles</th><th scope="col">Label</th><th scope="col">Created</th><th scope="col">State</th></tr></thead>
          <tbody>
            {items.map((k) => (
              <tr key={k.id}>
                <td>{k.holder}</td><td>{k.organization}</td><td>{k.roles.join(', ')}</td><td>{k.label ?? '—'}</td><td>{when(k.createdAt)}</td>
                <td>{k.revokedAt ? `revoked ${when(k.revokedAt)}` : <button type="button" class="secondary" aria-label={`Revoke the key of ${k.holder}`} onClick={() => revoke(k.id)}>Revoke</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
