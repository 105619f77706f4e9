/**
 * A small streaming CSV reader and writer (RFC 4180 as spreadsheets export it), for `npm run enrol`: quoted fields with
 * commas, doubled quotes and line breaks inside, CRLF or LF line ends, a UTF-8 byte-order mark. Records are yielded one at a
 * time, so memory stays bounded by the longest record, not the file. Lenient where spreadsheets are sloppy (a stray quote
 * inside an unquoted field is kept as text); strict where silence would lose data (a quote left open at the end of the file).
 */
import fs from 'node:fs';

export interface CsvRecord {
  fields: string[];
  /** 1-based line of the file on which the record starts (records may span lines). */
  line: number;
}

export class CsvSyntaxError extends Error {}

/** Yields every non-blank record of a text stream (the header included). */
export async function* parseCsv(chunks: AsyncIterable<string> | Iterable<string>): AsyncGenerator<CsvRecord> {
  let fields: string[] = [];
  let field = '';
  let quoted = false; // inside a quoted field
  let afterQuote = false; // a quote was seen inside a quoted field: either the closing one or the first of a doubled pair
  let pendingCR = false; // the previous chunk ended in \r: a leading \n belongs to the same line end
  let quotedCR = false; // the previous character, inside quotes, was \r
  let line = 1;
  let start = 1;
  let first = true;
  let touched = false; // the current record has content (a blank line is not a record)

  const endRecord = (): CsvRecord | null => {
    fields.push(field);
    const rec = touched || fields.length > 1 ? { fields, line: start } : null;
    fields = [];
    field = '';
    touched = false;
    return rec;
  };

  for await (let chunk of chunks) {
    if (first && chunk.length) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      first = false;
    }
    let i = 0;
    if (pendingCR && chunk[0] === '\n') i = 1;
    pendingCR = false;
    let from = i; // start of a run of plain characters copied in one slice
    for (; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (quoted) {
        if (afterQuote) {
          afterQuote = false;
          if (c === '"') {
            from = i + 1;
            continue; // "" inside quotes: the quote itself was kept by the slice before it
          }
          field = field.slice(0, -1); // the quote was the closing one: drop it
          quoted = false;
          // fall through: c is handled as an unquoted character
        } else if (c === '"') {
          quotedCR = false;
          field += chunk.slice(from, i + 1);
          from = i + 1;
          afterQuote = true;
          continue;
        } else {
          // Line numbers count CRLF, LF and CR inside quotes as one line end each, even when a chunk ends between \r and \n.
          if (c === '\r' || (c === '\n' && !quotedCR)) line++;
          quotedCR = c === '\r';
          continue;
        }
      }
      if (c === ',' || c === '\n' || c === '\r') {
        field += chunk.slice(from, i);
        from = i + 1;
        if (c === ',') {
          fields.push(field);
          field = '';
          touched = true;
          continue;
        }
        if (c === '\r') {
          if (i + 1 === chunk.length) pendingCR = true;
          else if (chunk[i + 1] === '\n') from = ++i + 1;
        }
        const rec = endRecord();
        line++;
        start = line;
        if (rec) yield rec;
        continue;
      }
      if (c === '"' && field === '' && from === i) {
        quoted = true;
        touched = true;
        from = i + 1;
        continue;
      }
      touched = true;
    }
    if (from < chunk.length) field += chunk.slice(from);
  }
  if (quoted && afterQuote) {
    field = field.slice(0, -1);
    quoted = false;
  }
  if (quoted) throw new CsvSyntaxError(`line ${start}: a quoted field is not closed before the end of the file`);
  const rec = endRecord();
  if (rec) yield rec;
}

/** Records of a file, read as UTF-8 in chunks. */
export function readCsvFile(file: string): AsyncGenerator<CsvRecord> {
  return parseCsv(fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 64 * 1024 }));
}

export { csvLine } from '../../src/shared/csv';
