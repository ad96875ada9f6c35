import { BadRequestException } from '@nestjs/common';
import { z } from 'zod';

/** One field problem, as returned in 400 bodies: `path` is dotted (`config.loss.alpha`). */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Thrown for a request that fails validation; the exception filter answers 400 with `issues`. */
export class RequestValidationError extends BadRequestException {
  readonly code = 'invalid-request';
  constructor(
    readonly where: 'body' | 'query' | 'path',
    readonly issues: FieldIssue[],
  ) {
    super(`invalid ${where}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
  }
}

/** Flattens zod issues into `path: message` pairs (unions report their branches' issues). */
export function zodIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

/** Parses `value` with `schema`, throwing RequestValidationError naming every bad field. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: 'body' | 'query' | 'path',
): z.output<S> {
  if (
    where === 'body' &&
    (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value))
  ) {
    throw new RequestValidationError('body', [
      { path: '', message: 'the body must be a JSON object (Content-Type: application/json)' },
    ]);
  }
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new RequestValidationError(where, zodIssues(result.error));
  return result.data;
}

export const uuidSchema = z.uuid({ error: 'must be a UUID' });

/** Validates a path id (a UUID) before it reaches Postgres. */
export function parseId(value: string, name = 'id'): string {
  const r = uuidSchema.safeParse(value);
  if (!r.success)
    throw new RequestValidationError('path', [
      { path: name, message: `must be a UUID; got ${JSON.stringify(value)}` },
    ]);
  return r.data;
}

/** Query-string numbers and booleans arrive as strings. */
export const queryNumber = (min: number, max: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .refine(Number.isFinite, 'must be a finite number')
    .pipe(z.number().min(min, `must be ≥ ${min}`).max(max, `must be ≤ ${max}`));
export const queryBool = z
  .enum(['true', 'false'], { error: 'must be true or false' })
  .transform((v) => v === 'true');
export const queryDate = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2026-11-26T00:00:00Z' })
  .transform((s) => new Date(s));
export const queryLimit = z.coerce
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(1, 'must be ≥ 1')
  .max(500, 'must be ≤ 500')
  .default(50);
