import { z } from 'zod';
import {
  auditQuery,
  createApiKeyBody,
  createRunBody,
  createScoringJobBody,
  listModelsQuery,
  listPredictionsQuery,
  listRunsQuery,
  listScoringJobsQuery,
  nightlyBody,
  pageQuery,
  registerDatasetBody,
} from '../resources/schemas';
import { listSweepsQuery } from '../resources/sweeps.controller';
import { sweepRequestSchema } from '@fundus/services';

type Access = 'public' | 'any' | Array<'admin' | 'researcher' | 'viewer'>;

/** One documented operation. The request schemas are the ones the controllers validate with. */
export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  summary: string;
  tag: string;
  access: Access;
  body?: z.ZodType;
  query?: z.ZodType;
  success?: number;
  produces?: string;
}

const W: Access = ['admin', 'researcher'];
const A: Access = ['admin'];

/** Every endpoint of the API (the authorization matrix test walks the same list). */
export const ROUTES: RouteDoc[] = [
  { method: 'get', path: '/health', summary: 'Liveness', tag: 'health', access: 'public' },
  { method: 'get', path: '/ready', summary: 'Readiness: PostgreSQL, Redis, storage', tag: 'health', access: 'public' },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', tag: 'ops', access: 'any', produces: 'text/plain' },
  { method: 'post', path: '/api-keys', summary: 'Create an API key (the secret is shown once)', tag: 'auth', access: A, body: createApiKeyBody, success: 201 },
  { method: 'get', path: '/api-keys', summary: 'List API keys (no secrets)', tag: 'auth', access: A },
  { method: 'delete', path: '/api-keys/{id}', summary: 'Revoke an API key', tag: 'auth', access: A },
  { method: 'get', path: '/audit-events', summary: 'Audit trail', tag: 'auth', access: A, query: auditQuery },
  { method: 'post', path: '/datasets', summary: 'Register a dataset from a storage prefix', tag: 'datasets', access: W, body: registerDatasetBody, success: 201 },
  { method: 'get', path: '/datasets', summary: 'List datasets', tag: 'datasets', access: 'any', query: pageQuery },
  { method: 'get', path: '/datasets/{id}', summary: 'Dataset with counts', tag: 'datasets', access: 'any' },
  { method: 'post', path: '/runs', summary: 'Create and enqueue a training run', tag: 'runs', access: W, body: createRunBody, success: 201 },
  { method: 'get', path: '/runs', summary: 'List runs (filters, sort, cursor)', tag: 'runs', access: 'any', query: listRunsQuery },
  { method: 'get', path: '/runs/{id}', summary: 'Run with epochs, metrics, curves and threshold table', tag: 'runs', access: 'any' },
  { method: 'post', path: '/runs/{id}/cancel', summary: 'Cancel a queued or running run (own runs for researchers)', tag: 'runs', access: W },
  { method: 'get', path: '/runs/{id}/events', summary: 'Progress as server-sent events', tag: 'runs', access: 'any', produces: 'text/event-stream' },
  { method: 'get', path: '/runs/{id}/report', summary: 'HTML report', tag: 'runs', access: 'any', produces: 'text/html' },
  { method: 'get', path: '/runs/{id}/model', summary: 'Model files', tag: 'runs', access: 'any' },
  { method: 'get', path: '/runs/{id}/model/{file}', summary: 'Download one model file', tag: 'runs', access: 'any', produces: 'application/octet-stream' },
  { method: 'post', path: '/sweeps', summary: 'Create a sweep (grid or seeded random over alpha, gamma, learning rate)', tag: 'sweeps', access: W, body: sweepRequestSchema, success: 201 },
  { method: 'get', path: '/sweeps', summary: 'List sweeps', tag: 'sweeps', access: 'any', query: listSweepsQuery },
  { method: 'get', path: '/sweeps/{id}', summary: 'Sweep with leaderboard and trials', tag: 'sweeps', access: 'any' },
  { method: 'post', path: '/sweeps/{id}/cancel', summary: 'Cancel a sweep (own sweeps for researchers)', tag: 'sweeps', access: W },
  { method: 'get', path: '/sweeps/{id}/events', summary: 'Progress as server-sent events', tag: 'sweeps', access: 'any', produces: 'text/event-stream' },
  { method: 'get', path: '/models', summary: 'List model versions', tag: 'models', access: 'any', query: listModelsQuery },
  { method: 'get', path: '/models/champion', summary: 'Current champion', tag: 'models', access: 'any' },
  { method: 'get', path: '/models/champion/history', summary: 'Promotion history', tag: 'models', access: 'any', query: pageQuery },
  { method: 'get', path: '/models/{id}', summary: 'One model version', tag: 'models', access: 'any' },
  { method: 'post', path: '/models/{id}/promote', summary: 'Promote to champion', tag: 'models', access: A },
  { method: 'post', path: '/scoring-jobs', summary: 'Score a storage prefix with a model version', tag: 'scoring', access: W, body: createScoringJobBody, success: 201 },
  { method: 'get', path: '/scoring-jobs', summary: 'List scoring jobs', tag: 'scoring', access: 'any', query: listScoringJobsQuery },
  { method: 'get', path: '/scoring-jobs/{id}', summary: 'Scoring job with progress', tag: 'scoring', access: 'any' },
  { method: 'post', path: '/scoring-jobs/{id}/cancel', summary: 'Cancel a scoring job (own jobs for researchers)', tag: 'scoring', access: W },
  { method: 'get', path: '/scoring-jobs/{id}/events', summary: 'Progress as server-sent events', tag: 'scoring', access: 'any', produces: 'text/event-stream' },
  { method: 'get', path: '/predictions', summary: 'Query predictions', tag: 'predictions', access: 'any', query: listPredictionsQuery },
  { method: 'get', path: '/schedule/nightly', summary: 'Nightly rescoring schedule', tag: 'schedule', access: 'any' },
  { method: 'put', path: '/schedule/nightly', summary: 'Change cron, time zone, enable/disable', tag: 'schedule', access: A, body: nightlyBody },
];

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const s = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete s.$schema;
  return s;
}

function queryParameters(schema: z.ZodType): unknown[] {
  const js = jsonSchema(schema) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({
    name,
    in: 'query',
    required: js.required?.includes(name) ?? false,
    schema: s,
    description: typeof s.description === 'string' ? s.description : undefined,
  }));
}

/** The OpenAPI 3.1 document of the API, generated from {@link ROUTES} and the zod schemas. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const roles = r.access === 'public' ? 'no key needed' : r.access === 'any' ? 'any role' : `roles: ${r.access.join(', ')}`;
    const errors = { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    paths[r.path] ??= {};
    paths[r.path][r.method] = {
      summary: r.summary,
      description: roles,
      tags: [r.tag],
      security: r.access === 'public' ? [] : [{ bearer: [] }],
      parameters: [...params, ...(r.query ? queryParameters(r.query) : [])],
      requestBody: r.body ? { required: true, content: { 'application/json': { schema: jsonSchema(r.body) } } } : undefined,
      responses: {
        [String(r.success ?? 200)]: { description: 'ok', content: { [r.produces ?? 'application/json']: {} } },
        ...(r.access === 'public' ? {} : { '401': errors, '403': errors }),
        '400': errors,
        '404': errors,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'fundus-screen API', version: '1', description: 'Training runs, models, scoring and predictions for fundus disease screening.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API key' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['statusCode', 'error', 'message'],
          properties: {
            statusCode: { type: 'integer' },
            error: { type: 'string' },
            message: { type: 'string' },
            code: { type: 'string' },
            issues: { type: 'array', items: {} },
          },
        },
      },
    },
    paths,
  };
}
