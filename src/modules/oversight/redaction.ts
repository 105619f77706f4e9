/**
 * What erasure does to free text people typed about a subject (issue 27 #6). A search "touches" the erased subject when the
 * subject was one of its candidates (or the subject verified against), when a review was recorded about one of the subject's
 * candidacies, or when a hit notice names the subject. In the rows of touched searches (the search's purpose, case reference
 * and stored parameters, its hit notices, its federation request, its reviews, and the audit_text rows of their events):
 * - a review rationale about the subject's candidacy is replaced by REDACTED whatever it says;
 * - any other free-text field that contains the subject's display name or external reference (compared case-insensitively,
 *   after Unicode NFKC and with runs of white space as one space) is replaced, as a whole, by REDACTED.
 * Names and references shorter than MIN_NEEDLE characters are not looked for (they would match ordinary words).
 */
export const REDACTED = '[redacted on erasure]';
export const MIN_NEEDLE = 3;

const fold = (s: string) => s.normalize('NFKC').toLocaleLowerCase('und').replace(/\s+/gu, ' ').trim();

/** A test for "names the subject": true when the text contains one of the needles. */
export function namesSubject(needles: Array<string | null | undefined>): (text: string) => boolean {
  const folded = [...new Set(needles.filter((n): n is string => typeof n === 'string').map(fold).filter((n) => n.length >= MIN_NEEDLE))];
  return (text) => {
    const t = fold(text);
    return folded.some((n) => t.includes(n));
  };
}

/** The text, or REDACTED when it names the subject. */
export const redactText = (names: (t: string) => boolean, text: string | null): string | null =>
  text !== null && text !== REDACTED && names(text) ? REDACTED : text;

/** A JSON value with every string that names the subject replaced by REDACTED (ids, numbers and keys are left as they are). */
export function redactJson(names: (t: string) => boolean, v: unknown): unknown {
  if (typeof v === 'string') return redactText(names, v);
  if (Array.isArray(v)) return v.map((x) => redactJson(names, x));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactJson(names, x)]));
  return v;
}
