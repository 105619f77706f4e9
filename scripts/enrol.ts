/**
 * Bulk enrolment from a CSV file, through the HTTP API (every subject and face is authorized and audited like one made by hand;
 * docs/enrolment.md):
 *
 *   FACEMATCH_API_KEY=<enroller key> npm run enrol -- --url http://127.0.0.1:8080 --csv gallery.csv [--concurrency 4]
 *
 * Header `displayName,category,watchlist,legalBasis,image` plus optional `externalRef,caseRef,notes,reviewBy,faceIndex`, in any order;
 * `faceIndex` chooses the face of a photo with several (0-based, in the order a MULTIPLE_FACES refusal's errorDetails lists boxes);
 * `image` is a path relative to the CSV file. Rows with the same watchlist and `externalRef` become one subject with several
 * faces (the subject's fields come from the first of its rows that creates it). A relative --csv is taken from the directory
 * npm was run in. The key comes from FACEMATCH_API_KEY; `--key` is still accepted, with a warning: a key on the command line is
 * visible to every user of the machine (`ps`) and npm prints it with the command it runs.
 *
 * Resumable, with the service as the only record of what is done (no local journal that could disagree with it): a row is
 * skipped when its watchlist already holds
 * - with `externalRef`: the subject with that reference, with a face enrolled from a photo of the same SHA-256;
 * - without: a subject of the same display name and no reference, with a face from a photo of the same SHA-256
 * (GET /v1/subjects?externalRef= / ?imageSha256=, and each face's imageSha256). A subject created for a row without a
 * reference whose face is then refused is erased again, so a re-run does not leave a second, empty one.
 *
 * Rows that fail are written, with `errorCode`, `errorMessage` and `errorDetails` (the API's `details` as JSON: the fields a
 * VALIDATION_FAILED names, the quality issues of a LOW_QUALITY) columns, to `<csv>.errors.csv` (rewritten on every run; the
 * same format is accepted as input, so fixed rows can be re-run from it). Codes are the API's (UNKNOWN_WATCHLIST, NO_FACE,
 * VALIDATION_FAILED, …) plus IMAGE_NOT_FOUND (the file cannot be read) and NETWORK_ERROR (the service stayed unreachable).
 * 429 and 503 are retried after their Retry-After; network errors a few times with backoff (the row starts again from its
 * look-up, so a face is never enrolled twice); validation errors never.
 * Exit code: 0 every row enrolled or already there, 1 some rows failed, 2 bad arguments or file or key, 130 interrupted
 * (Ctrl-C finishes the rows in flight, writes the errors file, and stops; a second Ctrl-C stops at once).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { csvLine, CsvSyntaxError, readCsvFile, type CsvRecord } from './lib/csv';

const REQUIRED = ['displayName', 'category', 'watchlist', 'legalBasis', 'image'] as const;
const OPTIONAL = ['externalRef', 'caseRef', 'notes', 'reviewBy', 'faceIndex'] as const;
/** Columns sent with the face, not with the subject. */
const FACE_COLUMNS: readonly string[] = ['faceIndex'];
/** Columns of an errors file, accepted (and ignored) on input so that file can be fed back. */
const ERROR_COLUMNS = ['errorCode', 'errorMessage', 'errorDetails'] as const;
type Column = (typeof REQUIRED)[number] | (typeof OPTIONAL)[number];
type Row = Record<Column, string>;

/** Subjects looked up or created in this run, by watchlist and reference (bounded: a long file must not grow memory). */
const CACHE_LIMIT = 10_000;
const NETWORK_ATTEMPTS = 4;
const BUSY_ATTEMPTS = 10;
const REQUEST_TIMEOUT_MS = 120_000;
/** Consecutive rows failed with NETWORK_ERROR after which the run stops (exit 2) instead of trying every remaining row. */
const UNREACHABLE_ROWS = 10;

const USAGE = `usage: FACEMATCH_API_KEY=<enroller or admin key> npm run enrol -- --url <service> --csv <file> [--concurrency N]

  --url           the service, e.g. http://127.0.0.1:8080
  --csv           displayName,category,watchlist,legalBasis,image[,externalRef,caseRef,notes,reviewBy,faceIndex]; image relative to the file;
                  faceIndex: which face of a group photo (0-based, as a MULTIPLE_FACES row's errorDetails boxes)
  --concurrency   rows in flight, 1-64 (default 4; keep it at or below the service's FACE_QUEUE_LIMIT)
  --key           the key, if FACEMATCH_API_KEY is not set (discouraged: visible in ps and in npm's echo of the command)
  --help          this text

Rows that fail go to <csv>.errors.csv with errorCode, errorMessage and errorDetails; fix them and run that file.
Exit code 0 all rows enrolled or already there, 1 some failed, 2 bad arguments, file or key, 130 interrupted.
`;

class UsageError extends Error {}
/** The service's answer to a row that retrying will not change. */
class RowError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The API's error `details`, kept for the errors file. */
    readonly details?: unknown,
  ) {
    super(message);
  }
}
/** The service could not be reached or the connection broke: the row is tried again from its look-up. */
class NetworkError extends Error {}
/** The key was refused: every other row would be too. */
class FatalError extends Error {}

interface Options {
  url: string;
  key: string;
  csv: string;
  concurrency: number;
}

function options(argv: string[]): Options | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        key: { type: 'string' },
        csv: { type: 'string' },
        concurrency: { type: 'string', default: '4' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return 'help';
  if (values.key !== undefined) {
    process.stderr.write('enrol: warning: --key shows the key to anyone who can list processes, and npm prints it with the command; set FACEMATCH_API_KEY instead\n');
  }
  const key = values.key ?? process.env.FACEMATCH_API_KEY;
  const missing = [!values.url && '--url', !key && 'FACEMATCH_API_KEY (or --key)', !values.csv && '--csv'].filter(Boolean);
  if (missing.length) throw new UsageError(`missing ${missing.join(', ')}`);
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new UsageError('--concurrency must be a whole number from 1 to 64');
  let url: URL;
  try {
    url = new URL(values.url!);
  } catch {
    throw new UsageError(`--url ${values.url} is not a URL`);
  }
  const base = process.env.INIT_CWD ?? process.cwd();
  return { url: url.toString().replace(/\/$/, ''), key: key!, csv: path.resolve(base, values.csv!), concurrency };
}

/** Column positions from the header; unknown columns are refused (a misspelt optional column would be silently lost). */
function columns(header: CsvRecord): Map<Column, number> {
  const known = new Set<string>([...REQUIRED, ...OPTIONAL, ...ERROR_COLUMNS]);
  const names = header.fields.map((f) => f.trim());
  const unknown = names.filter((n) => !known.has(n));
  const missing = REQUIRED.filter((c) => !names.includes(c));
  if (unknown.length || missing.length) {
    throw new UsageError(
      [missing.length && `missing column(s) ${missing.join(', ')}`, unknown.length && `unknown column(s) ${unknown.join(', ')}`].filter(Boolean).join('; ') +
        ` (header: ${[...REQUIRED, ...OPTIONAL].join(',')})`,
    );
  }
  return new Map(names.filter((n): n is Column => !(ERROR_COLUMNS as readonly string[]).includes(n)).map((n) => [n, names.indexOf(n)]));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The API's message with what its `details` say in words: each field a VALIDATION_FAILED names (`[{path, message}]`), the
 * issues of a LOW_QUALITY (`{issues}`). The details themselves go to the errors file's errorDetails column as they came.
 */
function withDetails(message: string, details: unknown): string {
  if (Array.isArray(details)) {
    const fields = details
      .filter((d): d is { path?: unknown; message: unknown } => !!d && typeof d === 'object' && 'message' in d)
      .map((d) => (d.path ? `${String(d.path)}: ${String(d.message)}` : String(d.message)));
    if (fields.length) return `${message} (${fields.join('; ')})`;
  } else if (details && typeof details === 'object' && Array.isArray((details as { issues?: unknown }).issues)) {
    const issues = (details as { issues: unknown[] }).issues;
    if (issues.length) return `${message} (${issues.map(String).join(', ')})`;
  }
  return message;
}

/** The HTTP API as this script uses it: JSON or multipart in, JSON out, 429/503 waited out, network failures typed. */
function client(o: Options) {
  return async function api<T>(method: string, route: string, body?: { json?: unknown; form?: FormData }): Promise<{ status: number; body: T }> {
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${o.url}${route}`, {
          method,
          headers: { Authorization: `Bearer ${o.key}`, ...(body?.json !== undefined ? { 'Content-Type': 'application/json' } : {}) },
          body: body?.json !== undefined ? JSON.stringify(body.json) : body?.form,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (e) {
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        throw new NetworkError(`${method} ${route}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
      }
      const text = await res.text().catch(() => '');
      let parsed: { error?: { code?: string; message?: string; details?: unknown } } = {};
      try {
        parsed = text ? JSON.parse(text) : {};
      } catch {
        // a proxy's HTML error page: the status says enough
      }
      if (res.ok) return { status: res.status, body: parsed as T };
      const code = parsed.error?.code ?? `HTTP_${res.status}`;
      const message = withDetails(parsed.error?.message ?? (res.statusText || 'no message'), parsed.error?.details);
      // 429 and 503 promise that nothing was written: waiting the time the service asks for and asking again is safe.
      if ((res.status === 429 || res.status === 503) && attempt < BUSY_ATTEMPTS) {
        const after = Number(res.headers.get('retry-after'));
        await sleep(1000 * Math.min(60, Number.isFinite(after) && after > 0 ? after : 2 ** attempt) + Math.random() * 250);
        continue;
      }
      if (res.status === 401) throw new FatalError(`the service refused the key (${code}: ${message})`);
      throw new RowError(code, message, parsed.error?.details);
    }
  };
}

interface SubjectItem {
  id: string;
  displayName: string;
  externalRef: string | null;
}
interface KnownSubject {
  id: string;
  shas: Set<string>;
}

/** What happens to each row; the subject cache and the per-subject locks live here. */
function enroller(o: Options, csvDir: string) {
  const api = client(o);
  const cache = new Map<string, KnownSubject>();
  const locks = new Map<string, Promise<unknown>>();
  const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

  /** Rows of one subject run one at a time (two rows must not both create it); other rows run in parallel. */
  async function locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = locks.get(key) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => undefined);
    locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (locks.get(key) === tail) locks.delete(key);
    }
  }

  const remember = (key: string, s: KnownSubject) => {
    cache.delete(key);
    cache.set(key, s);
    if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  };

  const subjectBody = (r: Row) => {
    const body: Record<string, string> = { displayName: r.displayName, category: r.category, watchlist: r.watchlist, legalBasis: r.legalBasis };
    for (const c of OPTIONAL) if (r[c] && !FACE_COLUMNS.includes(c)) body[c] = r[c];
    return body;
  };

  /** `faceIndex` (optional column): which face of a group photo, 0-based as a MULTIPLE_FACES row's errorDetails lists boxes. */
  async function addFace(subjectId: string, image: Buffer, file: string, faceIndex = '') {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(image)]), path.basename(file));
    if (faceIndex) form.append('faceIndex', faceIndex);
    await api('POST', `/v1/subjects/${subjectId}/faces`, { form });
  }

  /** With a reference: find or create the subject, then enrol the photo unless one with its hash is there. */
  async function withRef(r: Row, image: Buffer, sha: string, file: string): Promise<'enrolled' | 'skipped'> {
    const key = subjectKey(r);
    let s = cache.get(key);
    if (!s) {
      const found = await api<{ items: SubjectItem[] }>('GET', `/v1/subjects?${q({ watchlist: r.watchlist, externalRef: r.externalRef, limit: '2' })}`);
      const hit = found.body.items[0];
      if (hit) {
        const full = await api<{ faces: { imageSha256: string | null }[] }>('GET', `/v1/subjects/${hit.id}`);
        s = { id: hit.id, shas: new Set(full.body.faces.map((f) => f.imageSha256).filter((x): x is string => !!x)) };
      } else {
        s = { id: (await api<{ id: string }>('POST', '/v1/subjects', { json: subjectBody(r) })).body.id, shas: new Set() };
      }
      remember(key, s);
    }
    if (s.shas.has(sha)) return 'skipped';
    try {
      await addFace(s.id, image, file, r.faceIndex);
    } catch (e) {
      // After a broken connection the face may or may not be there: look the subject up again on the retry.
      if (e instanceof NetworkError) cache.delete(key);
      throw e;
    }
    s.shas.add(sha);
    return 'enrolled';
  }

  /** Without a reference: the photo's hash and the display name say whether this row was enrolled before. */
  async function withoutRef(r: Row, image: Buffer, sha: string, file: string): Promise<'enrolled' | 'skipped'> {
    const found = await api<{ items: SubjectItem[] }>('GET', `/v1/subjects?${q({ watchlist: r.watchlist, imageSha256: sha, limit: '200' })}`);
    if (found.body.items.some((s) => s.externalRef === null && s.displayName === r.displayName)) return 'skipped';
    const created = await api<{ id: string }>('POST', '/v1/subjects', { json: subjectBody(r) });
    try {
      await addFace(created.body.id, image, file, r.faceIndex);
    } catch (e) {
      // A subject with no face and no reference could not be recognised by a re-run: erase it (audited) before reporting.
      if (e instanceof RowError) await api('DELETE', `/v1/subjects/${created.body.id}`).catch(() => undefined);
      throw e;
    }
    return 'enrolled';
  }

  /** Rows of one subject (watchlist + externalRef) run one after another in the file's order, from reading the photo on. */
  const subjectKey = (r: Row) => `${r.watchlist}\u0000${r.externalRef}`;

  return async function enrolRow(r: Row): Promise<'enrolled' | 'skipped'> {
    const empty = REQUIRED.filter((c) => !r[c]);
    if (empty.length) throw new RowError('VALIDATION_FAILED', `empty ${empty.join(', ')}`);
    // The turn is taken before the first await, so the first row of a subject in the file creates it with its fields.
    return r.externalRef ? locked(subjectKey(r), () => enrolOne(r)) : enrolOne(r);
  };

  async function enrolOne(r: Row): Promise<'enrolled' | 'skipped'> {
    const file = path.resolve(csvDir, r.image);
    let image: Buffer;
    try {
      image = await fs.promises.readFile(file);
    } catch (e) {
      throw new RowError('IMAGE_NOT_FOUND', `${r.image}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const sha = createHash('sha256').update(image).digest('hex');
    for (let attempt = 1; ; attempt++) {
      try {
        return await (r.externalRef ? withRef(r, image, sha, file) : withoutRef(r, image, sha, file));
      } catch (e) {
        if (!(e instanceof NetworkError)) throw e;
        if (attempt >= NETWORK_ATTEMPTS) throw new RowError('NETWORK_ERROR', e.message);
        await sleep(500 * 2 ** attempt);
      }
    }
  }
}

/** A bar redrawn in place on a terminal; a line per 100 rows otherwise (logs, CI, `| tee`). */
function progress(total: number, out: NodeJS.WriteStream) {
  const t0 = Date.now();
  const counts = { enrolled: 0, skipped: 0, failed: 0 };
  let drawn = 0;
  const recent: { at: number; done: number }[] = [];
  const clock = (s: number) => (Number.isFinite(s) ? `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}` : '?');
  const line = (bar: boolean) => {
    const done = counts.enrolled + counts.skipped + counts.failed;
    const now = Date.now();
    recent.push({ at: now, done });
    while (recent.length > 2 && now - recent[0]!.at > 10_000) recent.shift();
    // Rate over the last ten seconds: skipped rows at the start of a resumed run would make an overall rate lie about the ETA.
    const span = (now - recent[0]!.at) / 1000;
    const rate = span > 0.5 ? (done - recent[0]!.done) / span : done / Math.max(0.001, (now - t0) / 1000);
    const eta = rate > 0 ? (total - done) / rate : Infinity;
    const tail = `${counts.enrolled} enrolled · ${counts.skipped} skipped · ${counts.failed} failed · ${rate.toFixed(1)} rows/s · ETA ${clock(eta)}`;
    if (!bar) return `${done}/${total} rows · ${tail}`;
    const width = 24;
    const full = total ? Math.round((width * done) / total) : width;
    return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${done}/${total} ${total ? Math.floor((100 * done) / total) : 100}% · ${tail}`;
  };
  let lastDraw = 0;
  return {
    counts,
    tick(kind: keyof typeof counts) {
      counts[kind]++;
      const done = counts.enrolled + counts.skipped + counts.failed;
      if (out.isTTY) {
        if (Date.now() - lastDraw > 200 || done === total) {
          lastDraw = Date.now();
          out.write(`\r\x1b[2K${line(true)}`);
        }
      } else if (done - drawn >= 100) {
        drawn = done;
        out.write(`${line(false)}\n`);
      }
    },
    say(message: string) {
      out.write(out.isTTY ? `\r\x1b[2K${message}\n${line(true)}` : `${message}\n`);
    },
    end() {
      if (out.isTTY) out.write(`\r\x1b[2K${line(true)}\n`);
      else if (counts.enrolled + counts.skipped + counts.failed !== drawn) out.write(`${line(false)}\n`);
      return (Date.now() - t0) / 1000;
    },
  };
}

async function main(): Promise<number> {
  const o = options(process.argv.slice(2));
  if (o === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!fs.existsSync(o.csv)) throw new UsageError(`${o.csv}: no such file`);

  // A first pass counts the rows for the ETA and checks the header before anything is written.
  let header: Map<Column, number> | null = null;
  let total = -1;
  for await (const rec of readCsvFile(o.csv)) {
    if (!header) header = columns(rec);
    total++;
  }
  if (!header) throw new UsageError(`${o.csv}: empty file`);
  total = Math.max(0, total);

  const me = await client(o)<{ roles: string[]; organization: string }>('GET', '/v1/keys/me').catch((e: Error) => {
    throw new FatalError(e instanceof NetworkError ? `cannot reach ${o.url}: ${e.message}` : e.message);
  });
  if (!me.body.roles.some((r) => r === 'enroller' || r === 'admin')) throw new FatalError(`the key's roles (${me.body.roles.join(', ')}) cannot enrol: an enroller or admin key is needed`);

  const errorsFile = `${o.csv}.errors.csv`;
  fs.rmSync(errorsFile, { force: true });
  let errors: fs.WriteStream | null = null;
  const headerNames = [...header.keys()];
  const fail = (r: Row, code: string, message: string, details: unknown) => {
    if (!errors) {
      errors = fs.createWriteStream(errorsFile);
      errors.write(csvLine([...headerNames, ...ERROR_COLUMNS]));
    }
    errors.write(csvLine([...headerNames.map((c) => r[c]), code, message.replace(/\s+/g, ' '), details === undefined ? '' : JSON.stringify(details)]));
  };

  const bar = progress(total, process.stderr);
  let stopping = false;
  let fatal: FatalError | null = null;
  let firstSignal = 0;
  const onSignal = () => {
    // In a checkout tsx relays the terminal's SIGINT to this process as well, moments after the terminal's own: a signal
    // within a second of the first is the same Ctrl-C.
    if (firstSignal && Date.now() - firstSignal > 1000) process.exit(130);
    if (firstSignal) return;
    firstSignal = Date.now();
    stopping = true;
    bar.say('interrupted: finishing the rows in flight (Ctrl-C again to stop at once)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const enrolRow = enroller(o, path.dirname(o.csv));
  const records = readCsvFile(o.csv);
  await records.next(); // the header
  let started = 0;
  const width = header.size;
  let unreachable = 0;
  const worker = async () => {
    while (!stopping) {
      const next = await records.next();
      if (next.done) return;
      const rec = next.value;
      const r = Object.fromEntries([...REQUIRED, ...OPTIONAL].map((c) => [c, header!.has(c) ? (rec.fields[header!.get(c)!] ?? '').trim() : ''])) as Row;
      started++;
      try {
        if (rec.fields.length < width) throw new RowError('VALIDATION_FAILED', `line ${rec.line}: ${rec.fields.length} fields, the header has ${width}`);
        bar.tick(await enrolRow(r));
        unreachable = 0;
      } catch (e) {
        if (e instanceof FatalError) {
          fatal = e;
          stopping = true;
          return;
        }
        const code = e instanceof RowError ? e.code : 'INTERNAL';
        fail(r, code, e instanceof RowError ? e.message : `line ${rec.line}: ${(e as Error).message}`, e instanceof RowError ? e.details : undefined);
        bar.tick('failed');
        // Rows that each waited through their retries for a service that stays down: stop rather than fail the whole file slowly.
        if (code === 'NETWORK_ERROR' && ++unreachable >= UNREACHABLE_ROWS && !fatal) {
          fatal = new FatalError(`${o.url} stayed unreachable for ${unreachable} rows in a row; the rows not tried are left for a re-run`);
          stopping = true;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const seconds = bar.end();
  if (errors) await new Promise((r) => (errors as fs.WriteStream).end(r));

  const { enrolled, skipped, failed } = bar.counts;
  const summary = {
    rows: total,
    started,
    enrolled,
    skipped,
    failed,
    seconds: Number(seconds.toFixed(1)),
    facesPerSecond: Number((enrolled / Math.max(seconds, 0.001)).toFixed(1)),
    errorsFile: errors ? errorsFile : null,
    interrupted: stopping && !fatal,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  if (fatal) throw fatal;
  if (summary.interrupted) return 130;
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    const usage = e instanceof UsageError;
    process.stderr.write(`enrol: ${e.message}\n${usage ? USAGE : ''}`);
    process.exit(usage || e instanceof FatalError || e instanceof CsvSyntaxError ? 2 : 1);
  },
);
