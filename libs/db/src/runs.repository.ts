import type { Prisma, PrismaClient } from './client';
import { DbError } from './errors';
import type { Run, RunEpoch, WorkStatus } from './generated/client';

export type { Run, RunEpoch };

export interface NewRun {
  datasetId: string;
  config: Prisma.InputJsonValue;
  seed: number;
  sweepId?: string;
  trialIndex?: number;
  codeVersion?: string;
  createdBy?: string;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  valLoss?: number | null;
  valAuc?: number | null;
  lr: number;
  seconds: number;
}

/** Terminal states a run never leaves. */
export const TERMINAL_STATUSES: readonly WorkStatus[] = ['succeeded', 'failed', 'canceled'];

/** Runs and their per-epoch rows. */
export class RunsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  create(run: NewRun): Promise<Run> {
    return this.prisma.run.create({ data: { ...run } });
  }

  async get(id: string): Promise<Run> {
    const run = await this.prisma.run.findUnique({ where: { id } });
    if (!run) throw new DbError('not-found', `run ${id} does not exist`);
    return run;
  }

  getWithEpochs(id: string) {
    return this.prisma.run.findUnique({ where: { id }, include: { epochs: { orderBy: { epoch: 'asc' } } } });
  }

  update(id: string, data: Prisma.RunUpdateInput): Promise<Run> {
    return this.prisma.run.update({ where: { id }, data });
  }

  /**
   * Moves a run to `to` only if it is currently in one of `from`; returns false when it was not
   * (e.g. a canceled run must not be marked running by a late worker).
   */
  async transition(
    id: string,
    from: WorkStatus[],
    to: WorkStatus,
    data: Prisma.RunUpdateManyMutationInput = {},
  ) {
    const { count } = await this.prisma.run.updateMany({
      where: { id, status: { in: from } },
      data: { ...data, status: to },
    });
    return count === 1;
  }

  /**
   * Marks a queued (or, for a retried job, already running) run as running. A sweep trial is claimed
   * only while fewer than the sweep's `maxParallel` trials run: the sweep row is locked so two
   * workers cannot both take the last slot. Returns 'busy' when the sweep is at its cap, 'gone' when
   * the run is no longer runnable (canceled, finished).
   */
  async claim(id: string): Promise<'claimed' | 'busy' | 'gone'> {
    return this.prisma.$transaction(async (tx) => {
      const run = await tx.run.findUnique({
        where: { id },
        select: { status: true, sweepId: true, startedAt: true },
      });
      if (!run || !['queued', 'running'].includes(run.status)) return 'gone';
      if (run.sweepId) {
        const locked = await tx.$queryRaw<{ maxParallel: number; status: string }[]>`
          SELECT "maxParallel", "status"::text AS status FROM "Sweep" WHERE id = ${run.sweepId}::uuid FOR UPDATE`;
        if (!locked.length || locked[0].status === 'canceled') return 'gone';
        const running = await tx.run.count({
          where: { sweepId: run.sweepId, status: 'running', id: { not: id } },
        });
        if (running >= locked[0].maxParallel) return 'busy';
        await tx.sweep.updateMany({
          where: { id: run.sweepId, status: 'queued' },
          data: { status: 'running', startedAt: new Date() },
        });
      }
      const { count } = await tx.run.updateMany({
        where: { id, status: { in: ['queued', 'running'] } },
        data: {
          status: 'running',
          startedAt: run.startedAt ?? new Date(),
          attempts: { increment: 1 },
          error: null,
        },
      });
      return count === 1 ? 'claimed' : 'gone';
    });
  }

  /** Idempotent per (run, epoch): a retried job that re-runs an epoch replaces its row, never duplicates it. */
  upsertEpoch(runId: string, e: EpochRecord): Promise<RunEpoch> {
    const values = {
      trainLoss: e.trainLoss,
      valLoss: e.valLoss ?? null,
      valAuc: e.valAuc ?? null,
      lr: e.lr,
      seconds: e.seconds,
    };
    return this.prisma.runEpoch.upsert({
      where: { runId_epoch: { runId, epoch: e.epoch } },
      create: { runId, epoch: e.epoch, ...values },
      update: values,
    });
  }

  epochs(runId: string): Promise<RunEpoch[]> {
    return this.prisma.runEpoch.findMany({ where: { runId }, orderBy: { epoch: 'asc' } });
  }
}
