/** One CSV line (RFC 4180, LF-terminated); fields with a comma, quote, line break or edge spaces are quoted. */
export function csvLine(fields: readonly string[]): string {
  return fields.map((f) => (/[",\r\n]|^\s|\s$/.test(f) ? `"${f.replaceAll('"', '""')}"` : f)).join(',') + '\n';
}

/**
 * A field of a CSV meant for spreadsheets, holding text from users: a leading = + - @ (or tab, CR) would make a spreadsheet
 * run it as a formula, so such text gets a leading apostrophe (OWASP "CSV injection").
 */
export const spreadsheetText = (v: string) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
