import type { Prisma, PrismaClient } from './client';
import type { Prediction } from './generated/client';
import type { ChunkCounts } from './scoring-jobs.repository';

export type { Prediction };

/**
 * One outcome for one image version. Exactly one of three shapes:
 * scored (`probability`, `label`, `threshold`), ungradable (`ungradable: true`, `reason`), or
 * unreadable (`error`).
 */
export interface NewPrediction {
  key: string;
  etag: string;
  modelVersionId: string;
  scoringJobId?: string | null;
  /** P(disease) in [0, 1]. */
  probability?: number | null;
  /** 1 = disease, 0 = normal, at `threshold`. */
  label?: number | null;
  threshold?: number | null;
  ungradable?: boolean;
  /** Why the image is ungradable, e.g. `too-dark,blurred`. */
  reason?: string | null;
  /** Why the image could not be read, e.g. `corrupt: …`. */
  error?: string | null;
}

const KEYS_PER_QUERY = 1_000;
const ROWS_PER_INSERT = 1_000;

/** Separator that cannot occur in an object key or an ETag. */
const SEP = '\u0000';

/** The identity of a prediction within one model version. */
export function predictionKey(key: string, etag: string): string {
  return `${key}${SEP}${etag}`;
}

/** Predictions: one row per (image key, image ETag, model version). */
export class PredictionsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Which of `objects` already have a prediction from `modelVersionId` for their current ETag.
   * @returns a set of {@link predictionKey}s
   */
  async existing(
    modelVersionId: string,
    objects: ReadonlyArray<{ key: string; etag: string }>,
  ): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < objects.length; i += KEYS_PER_QUERY) {
      const batch = objects.slice(i, i + KEYS_PER_QUERY);
      const rows = await this.prisma.prediction.findMany({
        where: { modelVersionId, key: { in: batch.map((o) => o.key) } },
        select: { key: true, etag: true },
      });
      for (const r of rows) found.add(predictionKey(r.key, r.etag));
    }
    return found;
  }

  /**
   * Inserts predictions, leaving any existing row for the same (key, etag, model version) as it is
   * (a prediction is a function of those three, so a rerun has nothing to change).
   * @param db the client, or a transaction client to insert inside a transaction
   * @returns counts of the rows newly created, by outcome
   */
  async insertNew(
    rows: readonly NewPrediction[],
    db: Prisma.TransactionClient | PrismaClient = this.prisma,
  ): Promise<Omit<ChunkCounts, 'skipped'> & { created: number }> {
    const counts = { scored: 0, ungradable: 0, failed: 0, created: 0 };
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
      const created = await db.prediction.createManyAndReturn({
        data: rows.slice(i, i + ROWS_PER_INSERT).map((r) => ({
          key: r.key,
          etag: r.etag,
          modelVersionId: r.modelVersionId,
          scoringJobId: r.scoringJobId ?? null,
          probability: r.probability ?? null,
          label: r.label ?? null,
          threshold: r.threshold ?? null,
          ungradable: r.ungradable ?? false,
          reason: r.reason ?? null,
          error: r.error ?? null,
        })),
        skipDuplicates: true,
        select: { ungradable: true, error: true },
      });
      for (const c of created) {
        counts.created += 1;
        if (c.error !== null) counts.failed += 1;
        else if (c.ungradable) counts.ungradable += 1;
        else counts.scored += 1;
      }
    }
    return counts;
  }

  /**
   * The predictions a scoring job is answerable for, ordered by key: those it planned (its items'
   * key and ETag) plus any it wrote under another ETag. Paged by (key, id), `pageSize` rows at a time.
   */
  async *forScoringJob(
    scoringJobId: string,
    modelVersionId: string,
    pageSize = 5_000,
  ): AsyncGenerator<Prediction[]> {
    let afterKey = '';
    let afterId = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const page = await this.prisma.$queryRaw<Prediction[]>`
        SELECT p.* FROM "Prediction" p
        WHERE p."modelVersionId" = ${modelVersionId}::uuid AND (p.key, p.id) > (${afterKey}, ${afterId}::uuid)
          AND (p."scoringJobId" = ${scoringJobId}::uuid OR EXISTS (
            SELECT 1 FROM "ScoringItem" i
            WHERE i."scoringJobId" = ${scoringJobId}::uuid AND i.key = p.key AND i.etag = p.etag))
        ORDER BY p.key, p.id
        LIMIT ${pageSize}`;
      if (page.length === 0) return;
      yield page;
      if (page.length < pageSize) return;
      afterKey = page[page.length - 1].key;
      afterId = page[page.length - 1].id;
    }
  }

  /** Every prediction for an image key, newest first (all ETags, all model versions). */
  forKey(key: string): Promise<Prediction[]> {
    return this.prisma.prediction.findMany({ where: { key }, orderBy: { createdAt: 'desc' } });
  }

  /** Number of predictions of a model version (optionally of one scoring job). */
  count(where: { modelVersionId?: string; scoringJobId?: string } = {}): Promise<number> {
    return this.prisma.prediction.count({ where });
  }
}
