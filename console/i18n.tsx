import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { formatters, isLocale, pickLocale, type Formatters, type Locale } from '../src/shared/locale';
import { en, type Messages } from './messages/en';
import { esMX } from './messages/es-MX';

/**
 * The console's language: chosen by the user (header and sign-in page), remembered in localStorage (a preference, not a
 * secret: the API key stays in sessionStorage), else the browser's preferred languages. API fields and codes never change.
 */
const STORE = 'facematch.language';
const CATALOGS: Record<Locale, Messages> = { en, 'es-MX': esMX };

export interface I18n {
  locale: Locale;
  t: Messages;
  fmt: Formatters;
}

export function initialLocale(): Locale {
  const saved = localStorage.getItem(STORE);
  return isLocale(saved) ? saved : pickLocale(navigator.languages ?? [navigator.language]);
}

export function rememberLocale(locale: Locale) {
  localStorage.setItem(STORE, locale);
  document.documentElement.lang = locale;
}

export const i18nFor = (locale: Locale): I18n => ({ locale, t: CATALOGS[locale], fmt: formatters(locale) });

export const I18nContext = createContext<I18n>(i18nFor('en'));
export const useI18n = () => useContext(I18nContext);
