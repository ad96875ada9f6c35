import { z } from 'zod';

/**
 * A training run's full definition, stored as `Run.config`. The API validates requests with it and
 * the worker re-validates what it reads, so a retried job trains exactly what was asked.
 */
const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const unit = finite.min(0, 'must be ≥ 0').max(1, 'must be ≤ 1');

export const lossSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('cross-entropy') }),
  z.object({
    kind: z.literal('weighted-cross-entropy'),
    classWeights: z.tuple([finite.min(0), finite.min(0)]),
  }),
  // The seed report's form: alpha multiplies the whole loss (seed: alpha 2, gamma 2).
  z.object({
    kind: z.literal('focal-seed'),
    alpha: finite.min(0, 'alpha must be ≥ 0'),
    gamma: finite.min(0, 'gamma must be ≥ 0'),
  }),
  // Lin et al.: alpha weights positives, 1 − alpha negatives.
  z.object({
    kind: z.literal('focal-balanced'),
    alpha: unit.default(0.25),
    gamma: finite.min(0, 'gamma must be ≥ 0').default(2),
  }),
]);

export const thresholdPolicySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fixed'), threshold: unit }),
  z.object({ kind: z.literal('max-youden') }),
  z.object({ kind: z.literal('sensitivity-at-least'), target: unit, minSpecificity: unit.optional() }),
  z.object({ kind: z.literal('specificity-at-least'), target: unit, minSensitivity: unit.optional() }),
]);

export const runConfigSchema = z
  .object({
    model: z
      .object({
        architecture: z.enum(['tiny-resnet', 'resnet18', 'resnet50']).default('resnet50'),
        inputSize: z.number().int().min(8).max(1024).default(224),
        widths: z.array(z.number().int().min(1).max(1024)).min(1).max(6).optional(),
        /** Storage URI of converted Keras ImageNet weights (tfjs layers format), loaded by layer name. */
        pretrainedUri: z.string().optional(),
      })
      .strict()
      .prefault({}),
    loss: lossSchema.default({ kind: 'focal-seed', alpha: 2, gamma: 2 }),
    optimizer: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('adam'), beta1: unit.optional(), beta2: unit.optional() }),
        z.object({ kind: z.literal('sgd'), momentum: unit.optional(), nesterov: z.boolean().optional() }),
      ])
      .default({ kind: 'adam' }),
    learningRate: finite.gt(0, 'must be > 0').max(10).default(1e-3),
    weightDecay: finite.min(0).max(1).default(0),
    schedule: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('constant') }),
        z.object({
          kind: z.literal('step'),
          stepEpochs: z.number().int().positive(),
          gamma: finite.gt(0).max(1),
        }),
        z.object({
          kind: z.literal('cosine'),
          warmupEpochs: z.number().int().min(0).optional(),
          minLr: finite.min(0).optional(),
        }),
      ])
      .default({ kind: 'constant' }),
    epochs: z.number().int().positive('must be a positive integer').max(1000).default(10),
    batchSize: z.number().int().positive('must be a positive integer').max(1024).default(16),
    augment: z.boolean().default(true),
    classBalancedSampling: z.boolean().default(false),
    earlyStopping: z
      .object({ patience: z.number().int().positive(), minDelta: finite.min(0).optional() })
      .strict()
      .optional(),
    thresholdPolicy: thresholdPolicySchema.default({ kind: 'sensitivity-at-least', target: 0.95 }),
    enhance: z.enum(['none', 'ben-graham', 'clahe']).default('none'),
    backend: z.enum(['auto', 'wasm', 'webgpu', 'tensorflow', 'cpu']).optional(),
  })
  .strict();

export type RunConfigInput = z.input<typeof runConfigSchema>;
export type RunConfig = z.output<typeof runConfigSchema>;

/** Thrown for invalid input to an application service; `issues` say which field and why. */
export class ServiceError extends Error {
  constructor(
    readonly code: 'invalid' | 'not-found' | 'conflict' | 'forbidden' | 'invalid-state',
    message: string,
    readonly issues: string[] = [],
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/** Validates and fills defaults; throws ServiceError('invalid') listing every problem with its path. */
export function parseRunConfig(input: unknown): RunConfig {
  const result = runConfigSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
  throw new ServiceError('invalid', `invalid run config: ${issues.join('; ')}`, issues);
}
