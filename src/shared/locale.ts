/**
 * Languages of the console and the case file, and the one place numbers and dates are formatted for people (through Intl, so
 * grouping, decimal marks and month names follow the language). API fields and error codes never change with the language.
 */
export const LOCALES = ['en', 'es-MX'] as const;
export type Locale = (typeof LOCALES)[number];

/** Each language named in itself (what a language picker shows). */
export const LOCALE_NAMES: Record<Locale, string> = { en: 'English', 'es-MX': 'Español (México)' };

export const isLocale = (v: unknown): v is Locale => typeof v === 'string' && (LOCALES as readonly string[]).includes(v);

/** The best supported language for a list of BCP 47 tags in preference order (Accept-Language, navigator.languages). */
export function pickLocale(tags: readonly string[]): Locale {
  for (const t of tags) {
    const tag = t.trim().toLowerCase();
    if (tag === 'es' || tag.startsWith('es-')) return 'es-MX';
    if (tag === 'en' || tag.startsWith('en-')) return 'en';
  }
  return 'en';
}

export interface Formatters {
  locale: Locale;
  /** A count or plain number with the language's grouping (10,000 / 10 000). */
  number(n: number, maximumFractionDigits?: number): string;
  /** A share in [0, 1] as a percentage. */
  percent(x: number): string;
  /** Date and time, with the time zone named. */
  dateTime(iso: string): string;
  date(iso: string): string;
  /** A large whole number in words where that reads better ("6 million" / "6 millones"), else digits. */
  count(n: number): string;
}

/**
 * `timeZone` fixes the zone (the case file is rendered on the server, so it states UTC); the console leaves it out and shows
 * the reader's own zone, named in every date-time.
 */
export function formatters(locale: Locale, timeZone?: string): Formatters {
  const zone = timeZone ? { timeZone } : {};
  // dateStyle cannot be combined with timeZoneName: the same fields, spelled out.
  const day = { year: 'numeric', month: 'short', day: 'numeric' } as const;
  const dt = new Intl.DateTimeFormat(locale, { ...day, hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short', ...zone });
  const d = new Intl.DateTimeFormat(locale, { ...day, ...zone });
  const pct = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 });
  const big = new Intl.NumberFormat(locale, { notation: 'compact', compactDisplay: 'long', maximumSignificantDigits: 2 });
  const sig = new Intl.NumberFormat(locale, { maximumSignificantDigits: 2 });
  return {
    locale,
    number: (n, maximumFractionDigits = 3) => new Intl.NumberFormat(locale, { maximumFractionDigits }).format(n),
    percent: (x) => pct.format(x),
    dateTime: (iso) => dt.format(new Date(iso)),
    date: (iso) => d.format(new Date(iso)),
    count: (n) => (n >= 1e6 ? big.format(n) : sig.format(n)),
  };
}
