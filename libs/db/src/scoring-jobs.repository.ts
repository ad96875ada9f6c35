import type { Prisma, PrismaClient } from './client';
import { DbError } from './errors';
import type { ScoringItem, ScoringJob, WorkStatus } from './generated/client';

export type { ScoringItem, ScoringJob };

/** How a scoring job was started. */
export type ScoringTrigger = 'manual' | 'nightly';

export interface NewScoringJob {
  modelVersionId: string;
  /** Storage prefix to score, relative to the store root (e.g. `intake/`). */
  prefix: string;
  trigger?: ScoringTrigger;
  createdBy?: string | null;
}

/** One (key, ETag) a scoring job planned to score. */
export interface PlannedItem {
  key: string;
  etag: string;
}

/** What the planner found. */
export interface ScoringPlan {
  /** Objects listed under the prefix. */
  totalKeys: number;
  /** Listed objects whose current ETag already has a prediction from the job's model version. */
  skipped: number;
  /** Objects to score, in chunk order. */
  items: PlannedItem[];
  /** Keys per chunk, ≥ 1. */
  chunkSize: number;
}

/** Counts a chunk adds to its job (rows newly created by this chunk only). */
export interface ChunkCounts {
  scored: number;
  ungradable: number;
  failed: number;
  /** Planned keys for which this chunk created no row (another job predicted them meanwhile). */
  skipped: number;
}

/** Terminal states a scoring job never leaves. */
export const SCORING_TERMINAL: readonly WorkStatus[] = ['succeeded', 'failed', 'canceled'];

const ITEMS_PER_INSERT = 2_000;

/**
 * Scoring jobs and their planned items.
 *
 * A chunk's items get `done = true` in the same transaction as the chunk's prediction inserts and
 * the counter increments, so a retried chunk (its job re-run after a crash) can tell it was already
 * counted.
 */
export class ScoringJobsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  create(j: NewScoringJob): Promise<ScoringJob> {
    return this.prisma.scoringJob.create({
      data: {
        modelVersionId: j.modelVersionId,
        prefix: j.prefix,
        trigger: j.trigger ?? 'manual',
        createdBy: j.createdBy ?? null,
      },
    });
  }

  async get(id: string): Promise<ScoringJob> {
    const j = await this.prisma.scoringJob.findUnique({ where: { id } });
    if (!j) throw new DbError('not-found', `scoring job ${id} does not exist`);
    return j;
  }

  find(id: string): Promise<ScoringJob | null> {
    return this.prisma.scoringJob.findUnique({ where: { id } });
  }

  /** Moves a job to `to` only if it is in one of `from`; false when it was not. */
  async transition(
    id: string,
    from: readonly WorkStatus[],
    to: WorkStatus,
    data: Prisma.ScoringJobUpdateManyMutationInput = {},
  ) {
    const { count } = await this.prisma.scoringJob.updateMany({
      where: { id, status: { in: [...from] } },
      data: { ...data, status: to },
    });
    return count === 1;
  }

  /**
   * Stores the plan once: items in chunks of `chunkSize` (in the given order), and the job's
   * totalKeys, chunks and skipped, in one transaction. A job that already has a plan keeps it (a
   * retried planner re-enqueues the same chunks); returns the job as stored.
   */
  async savePlan(id: string, plan: ScoringPlan): Promise<ScoringJob> {
    if (!(Number.isInteger(plan.chunkSize) && plan.chunkSize >= 1)) {
      throw new DbError('invalid-state', `chunk size must be a positive integer, got ${plan.chunkSize}`);
    }
    return this.prisma.$transaction(
      async (tx) => {
        const locked = await tx.$queryRaw<
          Array<{ id: string }>
        >`SELECT id FROM "ScoringJob" WHERE id = ${id}::uuid FOR UPDATE`;
        const job = locked.length ? await tx.scoringJob.findUnique({ where: { id } }) : null;
        if (!job) throw new DbError('not-found', `scoring job ${id} does not exist`);
        if (job.chunks > 0 || (job.totalKeys > 0 && job.totalKeys === job.skipped)) return job;
        for (let i = 0; i < plan.items.length; i += ITEMS_PER_INSERT) {
          await tx.scoringItem.createMany({
            data: plan.items.slice(i, i + ITEMS_PER_INSERT).map((it, k) => ({
              scoringJobId: id,
              key: it.key,
              etag: it.etag,
              chunk: Math.floor((i + k) / plan.chunkSize),
            })),
            skipDuplicates: true,
          });
        }
        return tx.scoringJob.update({
          where: { id },
          data: {
            totalKeys: plan.totalKeys,
            skipped: plan.skipped,
            chunks: Math.ceil(plan.items.length / plan.chunkSize),
          },
        });
      },
      { timeout: 120_000 },
    );
  }

  /**
   * The planned items of chunk `chunk`, ordered by key, and whether the chunk was already committed
   * (then every item is done; a chunk is committed all at once).
   */
  async chunkItems(id: string, chunk: number): Promise<{ items: ScoringItem[]; done: boolean }> {
    const rows = await this.prisma.scoringItem.findMany({
      where: { scoringJobId: id, chunk },
      orderBy: { key: 'asc' },
    });
    return { items: rows, done: rows.length > 0 && rows.every((it) => it.done) };
  }

  /** Chunk indexes whose predictions are committed. */
  async doneChunks(id: string): Promise<number[]> {
    const rows = await this.prisma.scoringItem.findMany({
      where: { scoringJobId: id, done: true },
      distinct: ['chunk'],
      select: { chunk: true },
    });
    return rows.map((r) => r.chunk).sort((a, b) => a - b);
  }

  /**
   * Commits a chunk: runs `write` (which inserts the chunk's predictions through `tx` and returns
   * the counts of rows it newly created), marks the chunk done and adds the counts and one to
   * `chunksDone` — all in one transaction, and only the first time: when the chunk was already
   * committed, `write` is not called and nothing is added (`firstTime: false`).
   * @returns the job after the update
   */
  async commitChunk(
    id: string,
    chunk: number,
    write: (tx: Prisma.TransactionClient) => Promise<ChunkCounts>,
  ): Promise<{ job: ScoringJob; firstTime: boolean }> {
    return this.prisma.$transaction(
      async (tx) => {
        // Row locks on the chunk's items serialise two attempts at the same chunk.
        const flipped = await tx.scoringItem.updateMany({
          where: { scoringJobId: id, chunk, done: false },
          data: { done: true },
        });
        if (flipped.count === 0)
          return { job: await tx.scoringJob.findUniqueOrThrow({ where: { id } }), firstTime: false };
        const counts = await write(tx);
        const job = await tx.scoringJob.update({
          where: { id },
          data: {
            chunksDone: { increment: 1 },
            scored: { increment: counts.scored },
            ungradable: { increment: counts.ungradable },
            failed: { increment: counts.failed },
            skipped: { increment: counts.skipped },
          },
        });
        return { job, firstTime: true };
      },
      { timeout: 60_000 },
    );
  }

  /** Jobs, newest first (for listings). */
  list(options: { take?: number; status?: WorkStatus } = {}): Promise<ScoringJob[]> {
    return this.prisma.scoringJob.findMany({
      where: options.status ? { status: options.status } : {},
      orderBy: { createdAt: 'desc' },
      take: options.take ?? 50,
    });
  }
}
