import { z } from 'zod';

/**
 * OpenAPI 3.1 generated from the same zod schemas the routes validate with. Each router registers its operations here;
 * `/openapi.json` serves the result, and the test helpers validate every response a test receives against it.
 */
export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
  /** Further media types of the same status (e.g. the HTML report beside the JSON one); undefined = no schema. */
  alternatives?: Record<string, z.ZodType | undefined>;
}

export interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string; // OpenAPI form: /v1/subjects/{id}
  summary: string;
  /** Defaults to the first path segment after /v1 (subjects, searches …), or `operations` outside /v1. */
  tag?: string;
  roles?: string[];
  query?: z.ZodObject;
  body?: z.ZodType;
  multipart?: z.ZodObject; // text fields; the file part (`image`, or `file` when set) is added
  /** The multipart file part: default an `image` (JPEG, PNG or WebP). */
  file?: { name: string; description: string };
  responses: Record<number, ResponseSpec>;
  /** Error statuses this operation can answer besides the ones every operation of its kind can (see errorStatuses). */
  errors?: Record<number, string>;
}

export const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  requestId: z.string(),
});

const TAGS: Record<string, string> = {
  operations: 'Liveness, readiness, metrics and this document (no key needed)',
  keys: 'API keys (admin)',
  watchlists: 'Watchlists owned by one organization, and grants sharing them with others',
  notifications: "Hit notices: other organizations' searches that returned one of your subjects",
  webhooks: 'Signed webhook delivery of hit notices (admin)',
  subjects: 'The watchlist gallery: subjects and their enrolled faces',
  searches: '1:N searches and their stored results',
  verify: '1:1 verification against one subject',
  reviews: 'Four-eyes review of candidates and the case-file report',
  audit: 'The hash-chained audit trail (auditor)',
  oversight: 'Usage and review statistics (auditor)',
  settings: "The deployment's thresholds and policies a client shows to people (any role)",
  purpose: 'What a search must state as its purpose: the deployment minimum and each organization\'s own policy',
  federation: 'Partner deployments, grants to them, and the signed routes they call (RFC 9421)',
  jobs: 'Batch screening jobs: many photos searched in the background, each as one search',
};

/** Request side documents what a client may send (defaults are optional); response side what the service returns. */
const toJson = (s: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(s, { target: 'draft-2020-12', unrepresentable: 'any', io }) as Record<string, unknown>;
  return rest;
};

const ERROR_REF = { $ref: '#/components/schemas/Error' };

/** Statuses an operation can answer because of what it is: authenticated, has parameters, takes an upload, runs the models. */
function errorStatuses(op: Operation): Record<number, string> {
  const out: Record<number, string> = {};
  const v1 = op.path.startsWith('/v1/');
  if (op.query || op.body || op.multipart || op.path.includes('{')) out[400] = 'VALIDATION_FAILED: the parameters or body are not valid (details list each field)';
  if (v1) {
    out[401] = 'UNAUTHENTICATED: missing, unknown or revoked API key';
    out[403] = `FORBIDDEN: the key has none of the roles ${op.roles?.join(', ') ?? ''}`.trim();
    out[429] = 'RATE_LIMITED: too many requests for this key (Retry-After)';
  }
  if (op.path.includes('{')) out[404] = 'NOT_FOUND: no such resource in the caller\'s organization';
  if (op.body || op.multipart) out[413] = 'PAYLOAD_TOO_LARGE: the body or upload exceeds the limit';
  if (op.body) out[415] = 'UNSUPPORTED_MEDIA_TYPE: the body is not JSON, or its Content-Encoding is not supported';
  if (op.multipart) {
    out[415] = 'UNSUPPORTED_MEDIA_TYPE: the upload is not a decodable JPEG, PNG or WebP';
    out[422] = 'NO_FACE, IMAGE_TOO_LARGE, IMAGE_UNPROCESSABLE (the analysis failed or ran over FACE_JOB_TIMEOUT_MS; nothing stored), and for enrolment MULTIPLE_FACES, LOW_QUALITY';
  }
  out[500] = 'INTERNAL: an unexpected error; quote the request id';
  if (v1) out[503] = 'OVERLOADED, NOT_READY or UNAVAILABLE (database unreachable; nothing was written), with Retry-After';
  return { ...out, ...op.errors };
}

function content(r: ResponseSpec) {
  const media: Record<string, unknown> = {};
  if (r.schema || r.contentType) media[r.contentType ?? 'application/json'] = r.schema ? { schema: toJson(r.schema, 'output') } : {};
  for (const [type, s] of Object.entries(r.alternatives ?? {})) media[type] = s ? { schema: toJson(s, 'output') } : {};
  return Object.keys(media).length ? { content: media } : {};
}

function tagOf(op: Operation): string {
  if (op.tag) return op.tag;
  const m = /^\/v1\/(\w+)/.exec(op.path);
  return m ? m[1]! : 'operations';
}

export function createOpenApi() {
  const ops: Operation[] = [];
  let matchers: Array<{ method: string; re: RegExp; route: string; params: number }> | null = null;
  return {
    add(...o: Operation[]) {
      ops.push(...o);
      matchers = null;
    },
    /**
     * The route template (express form, `/v1/searches/:id`) of a request path, from the operations registered here: labels
     * metrics and logs for every response, including errors raised before a route handler ran (401, 403, 400 on a bad path).
     * Literal segments win over parameters (fewest parameters first). null when no operation matches.
     */
    routeOf(method: string, path: string): string | null {
      matchers ??= ops
        .map((op) => ({
          method: op.method.toUpperCase(),
          re: new RegExp(`^${op.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+')}/?$`),
          route: op.path.replace(/\{(\w+)\}/g, ':$1'),
          params: (op.path.match(/\{/g) ?? []).length,
        }))
        .sort((a, b) => a.params - b.params);
      const m = matchers.find((x) => x.method === method && x.re.test(path)) ?? matchers.find((x) => x.re.test(path));
      return m?.route ?? null;
    },
    document(version: string) {
      const paths: Record<string, Record<string, unknown>> = {};
      for (const op of ops) {
        const params = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
          name: m[1],
          in: 'path',
          required: true,
          schema: { type: 'string' } as Record<string, unknown>,
        }));
        if (op.query) {
          for (const [name, s] of Object.entries(op.query.shape)) {
            const schema = s as z.ZodType;
            params.push({ name, in: 'query', required: !schema.safeParse(undefined).success, schema: toJson(schema, 'input') });
          }
        }
        let requestBody: unknown;
        if (op.body) requestBody = { required: true, content: { 'application/json': { schema: toJson(op.body, 'input') } } };
        if (op.multipart) {
          const base = toJson(op.multipart, 'input') as { properties?: Record<string, unknown>; required?: string[] };
          requestBody = {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  ...base,
                  properties: { [op.file?.name ?? 'image']: { type: 'string', format: 'binary', description: op.file?.description ?? 'JPEG, PNG or WebP' }, ...base.properties },
                  required: [op.file?.name ?? 'image', ...(base.required ?? [])],
                },
              },
            },
          };
        }
        const responses: Record<string, unknown> = {};
        for (const [status, r] of Object.entries(op.responses)) responses[status] = { description: r.description, ...content(r) };
        for (const [status, description] of Object.entries(errorStatuses(op))) {
          responses[status] ??= { description, content: { 'application/json': { schema: ERROR_REF } } };
        }
        (paths[op.path] ??= {})[op.method] = {
          summary: op.summary,
          tags: [tagOf(op)],
          ...(op.roles ? { description: `Roles: ${op.roles.join(', ')}.`, security: [{ bearer: [] }] } : {}),
          parameters: params,
          ...(requestBody ? { requestBody } : {}),
          responses,
        };
      }
      const used = new Set(ops.map(tagOf));
      return {
        openapi: '3.1.0',
        info: {
          title: 'FaceMatch',
          version,
          description:
            'Face search against a watchlist gallery. Candidates are investigative leads, never identifications: every search states a purpose, is audited, and needs human review.',
        },
        tags: Object.entries(TAGS)
          .filter(([name]) => used.has(name))
          .map(([name, description]) => ({ name, description })),
        components: {
          securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
          schemas: { Error: { ...toJson(errorSchema, 'output'), description: 'Every error: a stable code (API.md), a message, optional details, the request id' } },
        },
        paths,
      };
    },
  };
}

export type OpenApi = ReturnType<typeof createOpenApi>;
export type OpenApiDocument = ReturnType<OpenApi['document']>;
