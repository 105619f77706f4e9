import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, session, setApiLanguage, type Me } from './api';
import { I18nContext, i18nFor, initialLocale, rememberLocale, useI18n } from './i18n';
import { SettingsContext, settingsFrom, type DeploymentSettings, type Settings } from './settings';
import { ErrorBox, Field } from './ui';
import { LOCALES, LOCALE_NAMES, isLocale, type Locale } from '../src/shared/locale';
import { roleWords } from '../src/shared/words';
import { SearchView } from './views/search';
import { ReviewView } from './views/review';
import { GalleryView } from './views/gallery';
import { WatchlistsView } from './views/watchlists';
import { AuditView } from './views/audit';
import { KeysView } from './views/keys';

type ViewId = 'search' | 'review' | 'gallery' | 'watchlists' | 'audit' | 'keys';
const VIEWS: Array<{ id: ViewId; roles: string[] }> = [
  { id: 'search', roles: ['searcher'] },
  { id: 'review', roles: ['reviewer'] },
  { id: 'gallery', roles: ['enroller', 'admin'] },
  { id: 'watchlists', roles: ['enroller', 'admin'] },
  { id: 'audit', roles: ['auditor'] },
  { id: 'keys', roles: ['admin'] },
];

/** Where a key lands after sign-in: an admin's first task is keys; everyone else starts at their first view. */
const landing = (roles: string[], views: ViewId[]): ViewId | undefined => (roles.includes('admin') && views.includes('keys') ? 'keys' : views[0]);

function LanguagePicker(p: { locale: Locale; onChange: (l: Locale) => void }) {
  const { t } = useI18n();
  return (
    <div class="language">
      <label for="language">{t.common.language}</label>{' '}
      <select id="language" value={p.locale} onChange={(e) => isLocale(e.currentTarget.value) && p.onChange(e.currentTarget.value)}>
        {LOCALES.map((l) => <option key={l} value={l} lang={l}>{LOCALE_NAMES[l]}</option>)}
      </select>
    </div>
  );
}

function SignIn(p: { onSignedIn: (me: Me) => void; picker: preact.ComponentChildren }) {
  const { t } = useI18n();
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const me = await api<Me>('/v1/keys/me', { key: key.trim() });
      session.set(key.trim());
      p.onSignedIn(me);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <main id="main" class="signin">
      {p.picker}
      <h1>{t.signIn.title}</h1>
      <p>{t.signIn.intro}</p>
      <form onSubmit={submit}>
        <Field label={t.signIn.key} id="api-key">
          <input id="api-key" type="password" autoComplete="off" required value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        </Field>
        <button type="submit">{t.signIn.submit}</button>
      </form>
      <ErrorBox error={error} />
    </main>
  );
}

function Console(p: { me: Me; picker: preact.ComponentChildren; onSignOut: () => void }) {
  const { t, locale } = useI18n();
  const { me } = p;
  const roles = me.roles.map((r) => roleWords(r, locale)).join(', ');
  const views = VIEWS.filter((v) => v.roles.some((r) => me.roles.includes(r))).map((v) => v.id);
  const [view, setView] = useState<ViewId | undefined>(() => landing(me.roles, views));
  const current = view && views.includes(view) ? view : views[0];
  const go = (v: ViewId) => {
    setView(v);
    document.getElementById('main')?.focus();
  };
  return (
    <>
      <a class="skip" href="#main">{t.common.skip}</a>
      <header>
        <strong class="brand">{t.common.app}</strong>
        <p class="who" aria-label={t.header.signedInAs}>
          {me.holder} · {me.organization === '*' ? t.header.allOrganizations : me.organization} · {t.header.roles(roles)}
        </p>
        {p.picker}
        <button type="button" class="secondary" onClick={p.onSignOut}>{t.header.signOut}</button>
      </header>
      <nav aria-label={t.header.views}>
        {views.map((v) => (
          <button type="button" key={v} aria-current={v === current ? 'page' : undefined} onClick={() => go(v)}>
            {t.nav[v]}
          </button>
        ))}
      </nav>
      <main id="main" tabIndex={-1}>
        {!current && <p>{t.header.noView(roles)}</p>}
        {current === 'search' && <SearchView />}
        {current === 'review' && <ReviewView me={me} />}
        {current === 'gallery' && <GalleryView />}
        {current === 'watchlists' && <WatchlistsView me={me} />}
        {current === 'audit' && <AuditView />}
        {current === 'keys' && <KeysView />}
      </main>
    </>
  );
}

function App() {
  const [locale, setLocale] = useState<Locale>(initialLocale);
  const [me, setMe] = useState<Me | null>(null);
  const [settings, setSettings] = useState<Settings | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [checking, setChecking] = useState(!!session.key());
  const i18n = i18nFor(locale);
  setApiLanguage(locale);
  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);
  useEffect(() => {
    if (!session.key()) return;
    api<Me>('/v1/keys/me')
      .then(setMe)
      .catch(() => session.clear())
      .finally(() => setChecking(false));
  }, []);
  useEffect(() => {
    if (!me) return setSettings(null);
    api<DeploymentSettings>('/v1/settings').then((s) => setSettings(settingsFrom(s))).catch(setError);
  }, [me?.id]);
  const choose = (l: Locale) => {
    rememberLocale(l);
    setLocale(l);
  };
  const picker = <LanguagePicker locale={locale} onChange={choose} />;
  const signOut = () => {
    session.clear();
    setMe(null);
  };
  return (
    <I18nContext.Provider value={i18n}>
      {checking ? (
        <p>{i18n.t.signIn.checking}</p>
      ) : !me ? (
        <SignIn onSignedIn={setMe} picker={picker} />
      ) : !settings ? (
        error ? <main id="main"><ErrorBox error={error} /></main> : <p>{i18n.t.common.loading}</p>
      ) : (
        <SettingsContext.Provider value={settings}>
          <Console me={me} picker={picker} onSignOut={signOut} />
        </SettingsContext.Provider>
      )}
    </I18nContext.Provider>
  );
}

const root = document.getElementById('app')!;
root.textContent = ''; // the static "Loading…" placeholder
render(<App />, root);
