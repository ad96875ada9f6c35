import { FlowProducer } from 'bullmq';
import { z } from 'zod';
import type { Prisma, PrismaClient, Sweep } from '@fundus/db';
import { JOB_QUEUE, JobName, toJobsOptions, type JobQueues } from '@fundus/jobs';
import { parseRunConfig, ServiceError, type RunConfigInput } from './run-config';

const nonNegative = z.number().refine(Number.isFinite, 'must be finite').min(0, 'must be ≥ 0');
const range = (inner: z.ZodNumber | z.ZodType<number>) =>
  z.union([
    z.array(inner).min(1, 'needs at least one value').max(64),
    z.object({ min: inner, max: inner, log: z.boolean().optional() }).strict(),
  ]);

export const sweepRequestSchema = z
  .object({
    datasetId: z.string().uuid('must be a dataset id'),
    name: z.string().max(200).optional(),
    strategy: z.enum(['grid', 'random']).default('grid'),
    /** Random search: how many trials to draw (seeded). */
    trials: z.number().int().positive().optional(),
    seed: z.number().int().min(0).default(0),
    space: z
      .object({
        alpha: range(nonNegative).optional(),
        gamma: range(nonNegative).optional(),
        learningRate: range(z.number().gt(0, 'must be > 0').max(10)).optional(),
        lossForm: z
          .array(z.enum(['focal-seed', 'focal-balanced']))
          .min(1)
          .optional(),
      })
      .strict(),
    objective: z
      .object({ kind: z.literal('specificity-at-sensitivity'), target: z.number().min(0).max(1) })
      .strict()
      .default({ kind: 'specificity-at-sensitivity', target: 0.95 }),
    maxParallel: z.number().int().positive().max(64).default(2),
    /** Stop a trial whose validation AUC after epoch k is below the median of finished trials at k. */
    medianStopping: z.boolean().default(false),
    /** Shared training config of every trial; the space's values override its loss and learning rate. */
    baseConfig: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type SweepRequest = z.input<typeof sweepRequestSchema>;
export interface TrialParams {
  alpha: number;
  gamma: number;
  learningRate?: number;
  lossForm: 'focal-seed' | 'focal-balanced';
}

/** A small seeded PRNG (mulberry32) so the same random sweep proposes the same trials. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Dim = number[] | { min: number; max: number; log?: boolean } | undefined;

/**
 * Expands a sweep's space into trials: the full cartesian product for grid search (every dimension
 * must list its values), or `trials` seeded draws for random search (lists are sampled uniformly,
 * ranges uniformly or log-uniformly).
 */
export function expandTrials(
  req: z.output<typeof sweepRequestSchema>,
  defaults: { alpha: number; gamma: number },
): TrialParams[] {
  const forms = req.space.lossForm ?? ['focal-seed'];
  if (req.strategy === 'grid') {
    const values = (d: Dim, name: string, fallback: number | undefined): (number | undefined)[] => {
      if (d === undefined) return [fallback];
      if (!Array.isArray(d))
        throw new ServiceError('invalid', `grid search needs a list of values for ${name}, not a range`, [
          `space.${name}: must be a list for grid search`,
        ]);
      return d;
    };
    const out: TrialParams[] = [];
    for (const lossForm of forms)
      for (const alpha of values(req.space.alpha, 'alpha', defaults.alpha))
        for (const gamma of values(req.space.gamma, 'gamma', defaults.gamma))
          for (const learningRate of values(req.space.learningRate, 'learningRate', undefined))
            out.push({ alpha: alpha!, gamma: gamma!, learningRate, lossForm });
    return out;
  }
  if (!req.trials)
    throw new ServiceError('invalid', 'random search needs "trials"', ['trials: required for random search']);
  const rand = prng(req.seed);
  const draw = (d: Dim, fallback: number | undefined): number | undefined => {
    if (d === undefined) return fallback;
    if (Array.isArray(d)) return d[Math.floor(rand() * d.length)];
    const u = rand();
    if (d.log && d.min > 0) return Math.exp(Math.log(d.min) + u * (Math.log(d.max) - Math.log(d.min)));
    return d.min + u * (d.max - d.min);
  };
  return Array.from({ length: req.trials }, () => ({
    lossForm: forms[Math.floor(rand() * forms.length)],
    alpha: draw(req.space.alpha, defaults.alpha)!,
    gamma: draw(req.space.gamma, defaults.gamma)!,
    learningRate: draw(req.space.learningRate, undefined),
  }));
}

function trialConfig(base: Record<string, unknown>, t: TrialParams): RunConfigInput {
  const loss =
    t.lossForm === 'focal-balanced'
      ? { kind: 'focal-balanced' as const, alpha: t.alpha, gamma: t.gamma }
      : { kind: 'focal-seed' as const, alpha: t.alpha, gamma: t.gamma };
  return {
    ...(base as RunConfigInput),
    loss,
    ...(t.learningRate !== undefined ? { learningRate: t.learningRate } : {}),
  };
}

/**
 * Sweeps as BullMQ flows: one FinishSweep parent per sweep, one TrainModel child per trial. Trials run
 * on as many training workers as exist; the training handler caps each sweep at `maxParallel` running
 * trials. The parent runs when every trial has ended and ranks them by the objective on validation.
 */
export class SweepsService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly queues: JobQueues,
    private readonly limits: { maxTrials: number } = { maxTrials: 64 },
  ) {}

  async createSweep(input: SweepRequest & { createdBy?: string }): Promise<Sweep & { runIds: string[] }> {
    const { createdBy, ...rest } = input;
    const parsed = sweepRequestSchema.safeParse(rest);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(sweep)'}: ${i.message}`);
      throw new ServiceError('invalid', `invalid sweep: ${issues.join('; ')}`, issues);
    }
    const req = parsed.data;
    const base = parseRunConfig(req.baseConfig); // validates the shared part once, with precise paths
    const defaults =
      base.loss.kind === 'focal-seed' || base.loss.kind === 'focal-balanced'
        ? { alpha: base.loss.alpha, gamma: base.loss.gamma }
        : { alpha: 2, gamma: 2 };
    const trials = expandTrials(req, defaults);
    if (trials.length > this.limits.maxTrials) {
      throw new ServiceError(
        'invalid',
        `sweep has ${trials.length} trials; at most ${this.limits.maxTrials} are allowed`,
        [`space: ${trials.length} trials > ${this.limits.maxTrials}`],
      );
    }
    const configs = trials.map((t) => parseRunConfig(trialConfig(req.baseConfig, t)));
    const dataset = await this.prisma.dataset.findUnique({
      where: { id: req.datasetId },
      select: { id: true },
    });
    if (!dataset) throw new ServiceError('not-found', `dataset ${req.datasetId} does not exist`);

    const { sweep, runIds } = await this.prisma.$transaction(async (tx) => {
      const sweep = await tx.sweep.create({
        data: {
          datasetId: req.datasetId,
          name: req.name,
          space: req.space as Prisma.InputJsonValue,
          strategy: req.strategy,
          trials: trials.length,
          seed: req.seed,
          objective: req.objective,
          maxParallel: req.maxParallel,
          medianStopping: req.medianStopping,
          baseConfig: req.baseConfig as Prisma.InputJsonValue,
          createdBy,
        },
      });
      const runIds: string[] = [];
      for (const [i, config] of configs.entries()) {
        const run = await tx.run.create({
          data: {
            datasetId: req.datasetId,
            sweepId: sweep.id,
            trialIndex: i,
            config: config as never,
            seed: req.seed + i,
            createdBy,
          },
        });
        runIds.push(run.id);
      }
      return { sweep, runIds };
    });

    const flows = new FlowProducer({ connection: this.queues.connection, prefix: this.queues.prefix });
    try {
      await flows.add({
        name: JobName.FinishSweep,
        queueName: JOB_QUEUE[JobName.FinishSweep],
        data: { sweepId: sweep.id },
        opts: toJobsOptions(JobName.FinishSweep, { sweepId: sweep.id }),
        children: runIds.map((runId) => ({
          name: JobName.TrainModel,
          queueName: JOB_QUEUE[JobName.TrainModel],
          data: { runId },
          // A failed trial must not block the sweep's ranking of the others.
          opts: { ...toJobsOptions(JobName.TrainModel, { runId }), ignoreDependencyOnFailure: true },
        })),
      });
    } catch (err) {
      await this.prisma.sweep.update({
        where: { id: sweep.id },
        data: { status: 'failed', error: `could not enqueue: ${(err as Error).message}` },
      });
      throw err;
    } finally {
      await flows.close();
    }
    return { ...sweep, runIds };
  }

  /** Cancels a sweep and every trial not yet finished; the parent then ranks what finished. */
  async cancelSweep(sweepId: string): Promise<Sweep> {
    const sweep = await this.prisma.sweep.findUnique({ where: { id: sweepId } });
    if (!sweep) throw new ServiceError('not-found', `sweep ${sweepId} does not exist`);
    if (!['queued', 'running'].includes(sweep.status)) {
      throw new ServiceError(
        'invalid-state',
        `sweep ${sweepId} is ${sweep.status}; only queued or running sweeps can be canceled`,
      );
    }
    await this.prisma.run.updateMany({
      where: { sweepId, status: { in: ['queued', 'running'] } },
      data: { status: 'canceled', finishedAt: new Date() },
    });
    return this.prisma.sweep.update({
      where: { id: sweepId },
      data: { status: 'canceled', finishedAt: new Date() },
    });
  }
}
