import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/**
 * Checks a response against an OpenAPI 3.1 document: the route and method must be declared, the status declared for it
 * (no `default` fallback), the media type declared for that status, and a JSON (or NDJSON, line by line) body must validate
 * against the declared schema. Requests to undeclared routes must be the shared error body (404 NOT_FOUND).
 */
export interface ResponseUnderTest {
  method: string;
  path: string;
  status: number;
  contentType: string | undefined;
  body: unknown;
  text: string | undefined;
}

interface MediaSpec {
  schema?: object;
}
interface OpenApiLike {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, MediaSpec> }> }>>;
  components?: { schemas?: Record<string, object> };
}

const DOC_ID = 'openapi.json';
const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

export function createContractChecker(doc: OpenApiLike) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema({ ...doc, $id: DOC_ID } as object);
  const compiled = new Map<string, ValidateFunction>();
  const validatorAt = (ref: string) => {
    let v = compiled.get(ref);
    if (!v) compiled.set(ref, (v = ajv.compile({ $ref: `${DOC_ID}#/${ref}` })));
    return v;
  };
  // Literal paths first, so /v1/audit/verify is not taken for a templated sibling.
  const routes = Object.keys(doc.paths)
    .map((p) => ({ template: p, params: (p.match(/\{/g) ?? []).length, re: new RegExp(`^${p.replace(/\{\w+\}/g, '[^/]+')}$`) }))
    .sort((a, b) => a.params - b.params);

  const explain = (v: ValidateFunction) =>
    (v.errors ?? [])
      .map((e) => `body${e.instancePath} ${e.message}${'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`)
      .join('; ');

  return function check(r: ResponseUnderTest): string | null {
    const where = `${r.method} ${r.path} → ${r.status}`;
    const route = routes.find((x) => x.re.test(r.path) && doc.paths[x.template]![r.method.toLowerCase()]);
    if (!route) {
      if (r.status !== 404 && r.status !== 401) return `${where}: the route is not declared in /openapi.json`;
      const v = validatorAt(pointer('components', 'schemas', 'Error'));
      return v(r.body) ? null : `${where}: undeclared route, and the body is not the shared error schema: ${explain(v)}`;
    }
    const method = r.method.toLowerCase();
    const declared = doc.paths[route.template]![method]!.responses[String(r.status)];
    if (!declared) return `${where}: status ${r.status} is not declared for ${method.toUpperCase()} ${route.template}`;
    const type = (r.contentType ?? '').split(';')[0]!.trim().toLowerCase();
    if (!declared.content) return r.text ? `${where}: a body was sent but none is declared` : null;
    const media = declared.content[type];
    if (!media) return `${where}: media type ${type || '(none)'} is not declared (declared: ${Object.keys(declared.content).join(', ')})`;
    if (!media.schema) return null;
    const v = validatorAt(pointer('paths', route.template, method, 'responses', String(r.status), 'content', type, 'schema'));
    if (type === 'application/x-ndjson') {
      const lines = (r.text ?? '').split('\n').filter((l) => l.trim());
      for (const [i, line] of lines.entries()) if (!v(JSON.parse(line))) return `${where}: line ${i + 1} does not match the declared schema: ${explain(v)}`;
      return null;
    }
    if (type !== 'application/json') return null;
    return v(r.body) ? null : `${where}: the body does not match the declared schema: ${explain(v)}`;
  };
}

export type ContractChecker = ReturnType<typeof createContractChecker>;
