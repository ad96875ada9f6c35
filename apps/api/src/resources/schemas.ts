import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { runConfigSchema } from '@fundus/services';
import { queryBool, queryDate, queryLimit, queryNumber, uuidSchema } from '../common/validation';

/**
 * Request schemas of every endpoint: the controllers validate with them and the OpenAPI document is
 * generated from them, so the two cannot drift apart.
 */
const role = z.enum(['admin', 'researcher', 'viewer'], { error: 'must be one of admin, researcher, viewer' });
const status = z.enum(['queued', 'running', 'succeeded', 'failed', 'canceled'], {
  error: 'must be one of queued, running, succeeded, failed, canceled',
});
const name = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._ -]*$/,
    'letters, digits, ".", "_", "-" and spaces only, starting with a letter or digit',
  );
const unit = (what: string) => queryNumber(0, 1).describe(what);

export const createApiKeyBody = z.object({ name, role }).strict();

export const registerDatasetBody = z
  .object({
    name,
    /** Key prefix inside the configured store, e.g. `datasets/seed/`. */
    prefix: z.string({ error: 'must be a string' }).max(1024).optional(),
    /** Absolute storage URI inside the configured store (s3://bucket/prefix/ or file://...). */
    uri: z.string({ error: 'must be a string' }).max(2048).optional(),
    manifestKey: z.string({ error: 'must be a string' }).min(1).max(1024).optional(),
    labelMap: z
      .record(z.string(), z.number({ error: 'label values must be 0 or 1' }).int().min(0).max(1))
      .optional(),
    valFraction: z.number({ error: 'must be a number' }).gt(0, 'must be > 0').lt(1, 'must be < 1').optional(),
    seed: z.number({ error: 'must be a number' }).int().min(0).optional(),
  })
  .strict()
  .refine((b) => (b.prefix === undefined) !== (b.uri === undefined), {
    message: 'give exactly one of prefix or uri',
    path: ['prefix'],
  });

export const createRunBody = z
  .object({
    datasetId: uuidSchema,
    config: runConfigSchema.optional(),
    seed: z
      .number({ error: 'must be a number' })
      .int('must be an integer')
      .min(0, 'must be ≥ 0')
      .max(2 ** 31 - 1)
      .optional(),
  })
  .strict();

export const RUN_SORTS = ['createdAt', 'auc', 'sensitivity', 'specificity'] as const;

export const listRunsQuery = z
  .object({
    status: status.optional(),
    sweepId: uuidSchema.optional(),
    datasetId: uuidSchema.optional(),
    createdFrom: queryDate.optional(),
    createdTo: queryDate.optional(),
    minAuc: unit('AUC ≥ this (test split)').optional(),
    maxAuc: unit('AUC ≤ this').optional(),
    minSensitivity: unit('sensitivity at the operating point ≥ this').optional(),
    minSpecificity: unit('specificity at the operating point ≥ this').optional(),
    sort: z.enum(RUN_SORTS, { error: `must be one of ${RUN_SORTS.join(', ')}` }).default('createdAt'),
    order: z.enum(['asc', 'desc'], { error: 'must be asc or desc' }).default('desc'),
    limit: queryLimit,
    cursor: z.string().max(512).optional(),
  })
  .strict();

export const pageQuery = z.object({ limit: queryLimit, cursor: z.string().max(512).optional() }).strict();

export const listModelsQuery = z
  .object({
    runId: uuidSchema.optional(),
    champion: queryBool.optional(),
    limit: queryLimit,
    cursor: z.string().max(512).optional(),
  })
  .strict();

export const createScoringJobBody = z
  .object({
    modelVersionId: uuidSchema,
    /** Key prefix of the images to score, e.g. `intake/2026-11-26/`; '' scores the whole store. */
    prefix: z.string({ error: 'must be a string' }).max(1024),
  })
  .strict();

export const listScoringJobsQuery = z
  .object({
    status: status.optional(),
    modelVersionId: uuidSchema.optional(),
    limit: queryLimit,
    cursor: z.string().max(512).optional(),
  })
  .strict();

/** Filters shared by the prediction list and its histogram. */
const predictionFilterFields = {
  key: z.string().min(1).max(1024).optional(),
  prefix: z.string().min(1).max(1024).optional(),
  modelVersionId: uuidSchema.optional(),
  label: z.enum(['0', '1'], { error: 'must be 0 (normal) or 1 (disease)' }).transform(Number).optional(),
  ungradable: queryBool.optional(),
  from: queryDate.optional(),
  to: queryDate.optional(),
};
const keyOrPrefix = {
  message: 'give key or prefix, not both',
  path: ['prefix'],
};

export const listPredictionsQuery = z
  .object({
    ...predictionFilterFields,
    limit: queryLimit,
    cursor: z.string().max(512).optional(),
  })
  .strict()
  .refine((q) => !(q.key && q.prefix), keyOrPrefix);

export const predictionHistogramQuery = z
  .object({
    ...predictionFilterFields,
    bins: z
      .string()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().int().min(2, 'must be at least 2').max(100, 'must be at most 100'))
      .optional(),
  })
  .strict()
  .refine((q) => !(q.key && q.prefix), keyOrPrefix);

export const nightlyBody = z
  .object({
    cron: z
      .string({ error: 'must be a string' })
      .regex(/^(\S+\s+){4,5}\S+$/, 'must be a cron expression with 5 or 6 fields, e.g. "0 2 * * *"')
      .superRefine((cron, ctx) => {
        try {
          CronExpressionParser.parse(cron);
        } catch (err) {
          ctx.addIssue({
            code: 'custom',
            message: `is not a valid cron expression: ${(err as Error).message}`,
          });
        }
      })
      .optional(),
    timezone: z
      .string({ error: 'must be a string' })
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'must be an IANA time zone, e.g. UTC or Europe/Berlin')
      .optional(),
    enabled: z.boolean({ error: 'must be true or false' }).optional(),
  })
  .strict()
  .refine((b) => b.cron !== undefined || b.timezone !== undefined || b.enabled !== undefined, {
    message: 'give at least one of cron, timezone, enabled',
  });

export const auditQuery = z
  .object({
    subject: z.string().max(200).optional(),
    action: z.string().max(100).optional(),
    limit: queryLimit,
  })
  .strict();
