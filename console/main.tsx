import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, errorText, session, type Me } from './api';
import { ErrorBox, Field } from './ui';
import { SearchView } from './views/search';
import { ReviewView } from './views/review';
import { GalleryView } from './views/gallery';
import { AuditView } from './views/audit';
import { KeysView } from './views/keys';

type ViewId = 'search' | 'review' | 'gallery' | 'audit' | 'keys';
const VIEWS: Array<{ id: ViewId; label: string; roles: string[] }> = [
  { id: 'search', label: 'Search', roles: ['searcher'] },
  { id: 'review', label: 'Review queue', roles: ['reviewer'] },
  { id: 'gallery', label: 'Gallery', roles: ['enroller', 'admin'] },
  { id: 'audit', label: 'Oversight', roles: ['auditor'] },
  { id: 'keys', label: 'API keys', roles: ['admin'] },
];

function SignIn(p: { onSignedIn: (me: Me) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const me = await api<Me>('/v1/keys/me', { key: key.trim() });
      session.set(key.trim());
      p.onSignedIn(me);
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <main id="main" class="signin">
      <h1>FaceMatch console</h1>
      <p>Paste your API key. It is kept in this browser tab only (sessionStorage) and sent to this service only.</p>
      <form onSubmit={submit}>
        <Field label="API key" id="api-key">
          <input id="api-key" type="password" autoComplete="off" required value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        </Field>
        <button type="submit">Sign in</button>
      </form>
      <ErrorBox error={error} />
    </main>
  );
}

function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(!!session.key());
  const [view, setView] = useState<ViewId | null>(null);
  useEffect(() => {
    if (!session.key()) return;
    api<Me>('/v1/keys/me')
      .then(setMe)
      .catch(() => session.clear())
      .finally(() => setChecking(false));
  }, []);
  if (checking) return <p>Checking your key…</p>;
  if (!me) return <SignIn onSignedIn={setMe} />;
  const views = VIEWS.filter((v) => v.roles.some((r) => me.roles.includes(r)));
  const current = view && views.some((v) => v.id === view) ? view : views[0]?.id;
  const signOut = () => {
    session.clear();
    setMe(null);
  };
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header>
        <strong class="brand">FaceMatch</strong>
        <p class="who" aria-label="Signed in as">
          {me.holder} · {me.organization === '*' ? 'all organizations' : me.organization} · roles: {me.roles.join(', ')}
        </p>
        <button type="button" class="secondary" onClick={signOut}>Sign out</button>
      </header>
      <nav aria-label="Views">
        {views.map((v) => (
          <button type="button" key={v.id} aria-current={v.id === current ? 'page' : undefined} onClick={() => setView(v.id)}>
            {v.label}
          </button>
        ))}
      </nav>
      <main id="main" tabIndex={-1}>
        {!current && <p>This key has no role with a console view (roles: {me.roles.join(', ')}).</p>}
        {current === 'search' && <SearchView />}
        {current === 'review' && <ReviewView />}
        {current === 'gallery' && <GalleryView />}
        {current === 'audit' && <AuditView />}
        {current === 'keys' && <KeysView />}
      </main>
    </>
  );
}

const root = document.getElementById('app')!;
root.textContent = ''; // the static "Loading…" placeholder
render(<App />, root);
