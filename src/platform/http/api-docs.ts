import { esc } from '../../shared/html';
import type { OpenApiDocument } from './openapi';

/**
 * GET /docs: the OpenAPI document the service serves at /openapi.json, rendered on the server as one readable HTML page —
 * operations grouped by tag, each with method, path, summary, roles, parameters, request body fields and responses. No
 * script and nothing loaded from elsewhere: the page works offline and under DOCS_CSP.
 */
export const DOCS_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

type Json = Record<string, unknown>;

interface OperationDoc {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: Json }>;
  requestBody?: { content?: Record<string, { schema?: Json }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Json }> }>;
}

const CSS = `body{font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;margin:24px auto;max-width:1100px;padding:0 16px}
h1{font-size:24px;margin:0}h2{font-size:19px;margin:32px 0 4px;border-bottom:2px solid #333}h3{font-size:15px;margin:20px 0 4px}
h4{font-size:13px;margin:10px 0 2px}nav a{margin-right:12px}section.op{border:1px solid #bbb;padding:6px 12px 10px;margin:12px 0}
code{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}.method{font-weight:700;text-transform:uppercase;margin-right:6px}
table{border-collapse:collapse;width:100%;margin:4px 0}th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0}.muted{color:#555}`;

/** A short type for a JSON Schema: string, integer, array of …, one of …, enum values, a $ref's name. */
function typeOf(s: Json | undefined): string {
  if (!s) return 'any';
  if (typeof s.$ref === 'string') return s.$ref.split('/').pop()!;
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if ('const' in s) return JSON.stringify(s.const);
  const alts = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (Array.isArray(alts)) return [...new Set(alts.map(typeOf))].join(' | ');
  const t = Array.isArray(s.type) ? s.type.join(' | ') : typeof s.type === 'string' ? s.type : 'any';
  if (t === 'array') return `array of ${typeOf(s.items as Json | undefined)}`;
  const extra = [s.format, s.pattern ? `pattern ${String(s.pattern)}` : undefined].filter(Boolean);
  return extra.length ? `${t} (${extra.join(', ')})` : t;
}

/** Bounds and defaults worth a reader's eye, from the schema (and from the first alternative that states them). */
function notesOf(s: Json | undefined): string {
  if (!s) return '';
  const parts: string[] = [];
  if (typeof s.description === 'string') parts.push(s.description);
  for (const [k, label] of [['minimum', 'min'], ['maximum', 'max'], ['minLength', 'min length'], ['maxLength', 'max length'], ['maxItems', 'max items']] as const) {
    if (typeof s[k] === 'number') parts.push(`${label} ${String(s[k])}`);
  }
  if ('default' in s) parts.push(`default ${JSON.stringify(s.default)}`);
  return parts.join('; ');
}

function fieldTable(schema: Json | undefined): string {
  const props = schema?.properties as Record<string, Json> | undefined;
  if (!props || !Object.keys(props).length) return schema ? `<p><code>${esc(typeOf(schema))}</code></p>` : '';
  const required = new Set((schema!.required as string[] | undefined) ?? []);
  const rows = Object.entries(props).map(
    ([name, p]) => `<tr><td><code>${esc(name)}</code></td><td><code>${esc(typeOf(p))}</code></td><td>${required.has(name) ? 'yes' : 'no'}</td><td>${esc(notesOf(p))}</td></tr>`,
  );
  return `<table><tr><th>field</th><th>type</th><th>required</th><th>notes</th></tr>${rows.join('')}</table>`;
}

function operation(method: string, path: string, op: OperationDoc): string {
  const out = [`<section class="op" id="${esc(`${method}-${path}`)}"><h3><span class="method">${esc(method)}</span><code>${esc(path)}</code></h3>`];
  if (op.summary) out.push(`<p>${esc(op.summary)}</p>`);
  out.push(`<p class="muted">${op.security ? esc(op.description ?? 'API key required.') : 'No API key needed.'}</p>`);
  if (op.parameters?.length) {
    const rows = op.parameters.map(
      (p) => `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td><code>${esc(typeOf(p.schema))}</code></td><td>${p.required ? 'yes' : 'no'}</td><td>${esc(notesOf(p.schema))}</td></tr>`,
    );
    out.push(`<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th>required</th><th>notes</th></tr>${rows.join('')}</table>`);
  }
  for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
    out.push(`<h4>Request body <code>${esc(type)}</code></h4>${fieldTable(media.schema)}`);
  }
  const responses = Object.entries(op.responses ?? {}).map(([status, r]) => {
    const types = Object.keys(r.content ?? {});
    return `<tr><td>${esc(status)}</td><td>${esc(r.description ?? '')}</td><td>${types.map((t) => `<code>${esc(t)}</code>`).join(' ') || '—'}</td></tr>`;
  });
  out.push(`<h4>Responses</h4><table><tr><th>status</th><th>description</th><th>media type</th></tr>${responses.join('')}</table>`);
  for (const [status, r] of Object.entries(op.responses ?? {})) {
    const schema = r.content?.['application/json']?.schema;
    if (status.startsWith('2') && schema?.properties) out.push(`<h4>${esc(status)} body fields</h4>${fieldTable(schema)}`);
  }
  out.push('</section>');
  return out.join('\n');
}

export function renderApiDocs(doc: OpenApiDocument): string {
  const paths = doc.paths as Record<string, Record<string, OperationDoc>>;
  const byTag = new Map<string, string[]>(doc.tags.map((t) => [t.name, []]));
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = op.tags?.[0] ?? 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push(operation(method, path, op));
    }
  }
  const described = new Map(doc.tags.map((t) => [t.name, t.description]));
  const groups = [...byTag].filter(([, ops]) => ops.length);
  const nav = groups.map(([tag]) => `<a href="#tag-${esc(tag)}">${esc(tag)}</a>`).join(' ');
  const body = groups.map(
    ([tag, ops]) => `<h2 id="tag-${esc(tag)}">${esc(tag)}</h2>${described.get(tag) ? `<p>${esc(described.get(tag))}</p>` : ''}\n${ops.join('\n')}`,
  );
  const error = doc.components.schemas.Error as Json;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)} API ${esc(doc.info.version)}</title><style>${CSS}</style></head>
<body><h1>${esc(doc.info.title)} API <span class="muted">${esc(doc.info.version)}</span></h1>
<p>${esc(doc.info.description)}</p>
<p>Generated from <a href="/openapi.json"><code>/openapi.json</code></a> (OpenAPI ${esc(doc.openapi)}), the contract clients code against. Authenticate with <code>Authorization: Bearer &lt;key&gt;</code>.</p>
<nav>${nav}</nav>
<h2 id="errors">Errors</h2><p>${esc(error.description ?? '')}</p>${fieldTable(error)}
${body.join('\n')}
</body></html>
`;
}
