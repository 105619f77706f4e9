/** HTML-escapes any value rendered as text (every string in the report comes from users or stored data). */
export function esc(v: unknown): string {
  const s = v === null || v === undefined ? '—' : typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return s.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}
