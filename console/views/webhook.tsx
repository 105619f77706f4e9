import { useEffect, useState } from 'preact/hooks';
import { ApiError, api } from '../api';
import { useI18n } from '../i18n';
import { ErrorBox, Field } from '../ui';
import { deliveryWords } from '../../src/shared/words';

interface Attempt { attempt: number; at: string; outcome: string }
interface Delivery { id: string; noticeId: string; status: string; attempts: Attempt[]; nextAttemptAt: string | null; deliveredAt: string | null }
interface Webhook { organization: string; url: string; updatedAt: string; deliveries?: Delivery[] }
interface TestDelivery { delivered: boolean; outcome: string }

/** The organization's hit-notice webhook (admin): set URL and secret, send a test delivery, see recent deliveries, remove. */
export function WebhookPanel() {
  const { t, fmt, locale } = useI18n();
  const [hook, setHook] = useState<Webhook | null | undefined>(undefined);
  const [f, setF] = useState({ url: '', secret: '' });
  const [message, setMessage] = useState<string | null>(null);
  /** A secret the service generated (when none was given): shown once, as the API returns it once. */
  const [generated, setGenerated] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () =>
    api<Webhook>('/v1/webhooks')
      .then(setHook)
      .catch((e) => (e instanceof ApiError && e.code === 'NOT_FOUND' ? setHook(null) : setError(e)));
  useEffect(() => void load(), []);
  const act = async (f: () => Promise<string>) => {
    setError(null);
    setMessage(null);
    try {
      setMessage(await f());
      void load();
    } catch (err) {
      setError(err);
    }
  };
  const save = (e: Event) => {
    e.preventDefault();
    void act(async () => {
      const r = await api<{ secret?: string }>('/v1/webhooks', { method: 'PUT', json: { url: f.url.trim(), ...(f.secret ? { secret: f.secret } : {}) } });
      setGenerated(r.secret ?? null);
      setF({ url: '', secret: '' });
      return t.webhook.saved;
    });
  };
  const test = () =>
    act(async () => {
      const r = await api<TestDelivery>('/v1/webhooks/test', { method: 'POST' });
      return t.webhook.testResult(r.delivered, r.outcome.replace(/_/g, ' '));
    });
  const remove = () =>
    act(async () => {
      await api('/v1/webhooks', { method: 'DELETE' });
      return t.webhook.removed;
    });
  return (
    <section aria-labelledby="hook-h">
      <h2 id="hook-h">{t.webhook.title}</h2>
      <p>{t.webhook.intro}</p>
      {hook === null && <p>{t.webhook.none}</p>}
      {hook && (
        <>
          <p>{t.webhook.current(hook.url, fmt.dateTime(hook.updatedAt))}</p>
          <p class="inline">
            <button type="button" onClick={test}>{t.webhook.test}</button>
            <button type="button" class="danger" onClick={remove}>{t.webhook.remove}</button>
          </p>
        </>
      )}
      {message && <p class="ok" role="status">{message}</p>}
      {generated && <p class="notice" role="status">{t.webhook.generated} <code class="secret">{generated}</code></p>}
      <form class="grid-form" onSubmit={save} aria-label={t.webhook.title}>
        <Field label={t.webhook.url} id="hook-url"><input id="hook-url" type="url" required value={f.url} onInput={(e) => setF({ ...f, url: e.currentTarget.value })} /></Field>
        <Field label={t.webhook.secret} id="hook-secret">
          <input id="hook-secret" type="password" autoComplete="new-password" minLength={16} value={f.secret} onInput={(e) => setF({ ...f, secret: e.currentTarget.value })} />
        </Field>
        <button type="submit">{t.webhook.save}</button>
      </form>
      <ErrorBox error={error} />
      {hook && (
        <div class="table-wrap">
          <table>
            <caption>{t.webhook.deliveries}</caption>
            <thead><tr><th scope="col">{t.webhook.deliveryNotice}</th><th scope="col">{t.webhook.deliveryState}</th><th scope="col">{t.webhook.deliveryAttempts}</th><th scope="col">{t.webhook.deliveryLast}</th></tr></thead>
            <tbody>
              {(hook.deliveries ?? []).map((d) => {
                const last = d.attempts[d.attempts.length - 1];
                return (
                  <tr key={d.id}>
                    <td><code>{d.noticeId.slice(0, 8)}</code></td>
                    <td>{deliveryWords(d.status, locale)}</td>
                    <td>{d.attempts.length}</td>
                    <td>{last ? `${fmt.dateTime(last.at)} · ${last.outcome.replace(/_/g, ' ')}` : t.common.none}</td>
                  </tr>
                );
              })}
              {(hook.deliveries ?? []).length === 0 && <tr><td colSpan={4}>{t.webhook.noDeliveries}</td></tr>}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
