import { z } from 'zod';

/**
 * OpenAPI 3.1 generated from the same zod schemas the routes validate with. Each router registers its operations here;
 * `/openapi.json` serves the result.
 */
export interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string; // OpenAPI form: /v1/subjects/{id}
  summary: string;
  roles?: string[];
  query?: z.ZodObject;
  body?: z.ZodType;
  multipart?: z.ZodObject; // text fields; the `image` file part is added
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
}

const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  requestId: z.string(),
});

const json = (s: z.ZodType) => z.toJSONSchema(s, { target: 'draft-2020-12', unrepresentable: 'any', io: 'output' });

export function createOpenApi() {
  const ops: Operation[] = [];
  return {
    add(...o: Operation[]) {
      ops.push(...o);
    },
    document(version: string) {
      const paths: Record<string, Record<string, unknown>> = {};
      for (const op of ops) {
        const params = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
          name: m[1],
          in: 'path',
          required: true,
          schema: { type: 'string' },
        }));
        if (op.query) {
          for (const [name, s] of Object.entries(op.query.shape)) {
            params.push({ name, in: 'query', required: !(s as z.ZodType).safeParse(undefined).success, schema: json(s as z.ZodType) as never });
          }
        }
        let requestBody: unknown;
        if (op.body) requestBody = { required: true, content: { 'application/json': { schema: json(op.body) } } };
        if (op.multipart) {
          const base = json(op.multipart) as { properties?: Record<string, unknown>; required?: string[] };
          requestBody = {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  ...base,
                  properties: { image: { type: 'string', format: 'binary', description: 'JPEG, PNG or WebP' }, ...base.properties },
                  required: ['image', ...(base.required ?? [])],
                },
              },
            },
          };
        }
        const responses: Record<string, unknown> = {};
        for (const [status, r] of Object.entries(op.responses)) {
          responses[status] = {
            description: r.description,
            ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: json(r.schema) } } } : {}),
          };
        }
        responses.default = { description: 'Error (see codes in the description)', content: { 'application/json': { schema: json(errorSchema) } } };
        (paths[op.path] ??= {})[op.method] = {
          summary: op.summary,
          ...(op.roles ? { description: `Roles: ${op.roles.join(', ')}.`, security: [{ bearer: [] }] } : {}),
          parameters: params,
          ...(requestBody ? { requestBody } : {}),
          responses,
        };
      }
      return {
        openapi: '3.1.0',
        info: {
          title: 'FaceMatch',
          version,
          description:
            'Face search against a watchlist gallery. Candidates are investigative leads, never identifications: every search states a purpose, is audited, and needs human review.',
        },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
        paths,
      };
    },
  };
}

export type OpenApi = ReturnType<typeof createOpenApi>;
