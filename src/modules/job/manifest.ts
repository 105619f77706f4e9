/**
 * A screening job's manifest: one row per photo, naming the uploaded file (`file`, the name it was uploaded under) and the
 * client's own reference for it (`clientRef`, optional). NDJSON (`{"file": "a.jpg", "clientRef": "CUST-1"}` per line) or
 * CSV with a header row naming `file` and optionally `clientRef` (RFC 4180 quoting). Told apart by the first character: `{`
 * is NDJSON. A row that is not valid is reported with its line number and kept (its item fails); a manifest that is not
 * either format as a whole is refused.
 */
export interface ManifestRow {
  /** 1-based line of the row in the manifest. */
  line: number;
  file?: string;
  clientRef?: string;
  error?: string;
}

export class ManifestError extends Error {}

const MAX_REF = 200;
const MAX_NAME = 255;

/** One CSV record's fields (a line; quoted fields may hold commas and doubled quotes, not line breaks). */
function csvFields(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        if (i >= line.length) return null;
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            v += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += line[i++];
      }
      out.push(v);
      if (i === line.length) return out;
      if (line[i] !== ',') return null;
      i++;
    } else {
      const j = line.indexOf(',', i);
      const v = j < 0 ? line.slice(i) : line.slice(i, j);
      if (v.includes('"')) return null;
      out.push(v.trim());
      if (j < 0) return out;
      i = j + 1;
    }
  }
}

function checked(line: number, file: unknown, clientRef: unknown): ManifestRow {
  if (typeof file !== 'string' || !file.trim()) return { line, error: 'no `file` (the uploaded file name)' };
  if (file.length > MAX_NAME) return { line, error: `\`file\` is longer than ${MAX_NAME} characters` };
  if (clientRef != null && typeof clientRef !== 'string') return { line, file, error: '`clientRef` is not text' };
  if (typeof clientRef === 'string' && clientRef.length > MAX_REF) return { line, file, error: `\`clientRef\` is longer than ${MAX_REF} characters` };
  return { line, file: file.trim(), ...(typeof clientRef === 'string' && clientRef.trim() ? { clientRef: clientRef.trim() } : {}) };
}

/** The manifest's rows in order (blank lines skipped), at most `maxRows`; throws ManifestError when it cannot be read at all. */
export function parseManifest(text: string, maxRows: number): ManifestRow[] {
  if (text.includes('\u0000') || text.includes('\ufffd')) throw new ManifestError('The manifest is not UTF-8 text.');
  const lines = text.replace(/^\ufeff/, '').split(/\r?\n/);
  const rows: ManifestRow[] = [];
  const first = lines.findIndex((l) => l.trim() !== '');
  if (first < 0) throw new ManifestError('The manifest has no rows.');
  const ndjson = lines[first]!.trimStart().startsWith('{');
  let header: string[] | null = null;
  for (const [i, raw] of lines.entries()) {
    if (!raw.trim()) continue;
    const line = i + 1;
    if (!ndjson && !header) {
      header = csvFields(raw)?.map((h) => h.trim()) ?? null;
      if (!header || !header.includes('file')) throw new ManifestError('The CSV manifest\'s header row must name a `file` column (and may name `clientRef`).');
      continue;
    }
    if (rows.length === maxRows) throw new ManifestError(`The manifest has more than ${maxRows} rows (SCREENING_JOB_MAX_ITEMS).`);
    if (ndjson) {
      let v: unknown;
      try {
        v = JSON.parse(raw);
      } catch {
        rows.push({ line, error: 'not a JSON object' });
        continue;
      }
      if (!v || typeof v !== 'object' || Array.isArray(v)) rows.push({ line, error: 'not a JSON object' });
      else rows.push(checked(line, (v as Record<string, unknown>).file, (v as Record<string, unknown>).clientRef));
    } else {
      const f = csvFields(raw);
      if (!f) rows.push({ line, error: 'not a valid CSV row (unbalanced quotes)' });
      else if (f.length !== header!.length) rows.push({ line, error: `${f.length} fields where the header has ${header!.length}` });
      else rows.push(checked(line, f[header!.indexOf('file')], header!.includes('clientRef') ? f[header!.indexOf('clientRef')] : undefined));
    }
  }
  if (!rows.length) throw new ManifestError('The manifest has no rows.');
  return rows;
}
