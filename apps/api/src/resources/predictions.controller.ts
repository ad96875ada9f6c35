import { Controller, Get, Inject, Query } from '@nestjs/common';
import type { Prisma, PrismaClient } from '@fundus/db';
import { PRISMA } from '@fundus/platform';
import { decodeCursor, encodeCursor } from '../common/cursor';
import { parseInput, RequestValidationError } from '../common/validation';
import { listPredictionsQuery, predictionHistogramQuery } from './schemas';

/**
 * Predictions by image key or key prefix, model version, label, ungradable flag and date range.
 * Keyset-paginated: by (key, id) when a key or prefix is given, else newest first by (createdAt, id).
 */
@Controller('predictions')
export class PredictionsController {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  @Get()
  async list(@Query() query: unknown) {
    const q = parseInput(listPredictionsQuery, query, 'query');
    const and = predictionFilters(q);
    // With a key or prefix the answer is ordered by key (the key index serves it); otherwise newest first.
    const byKey = q.key !== undefined || q.prefix !== undefined;
    if (q.cursor) {
      const after = decodeCursor(q.cursor);
      if (byKey !== (typeof after.value === 'string')) {
        throw new RequestValidationError('query', [
          { path: 'cursor', message: 'was issued for another query' },
        ]);
      }
      and.push(
        byKey
          ? {
              OR: [
                { key: { gt: after.value as string } },
                { key: after.value as string, id: { gt: after.id } },
              ],
            }
          : {
              OR: [
                { createdAt: { lt: after.value as Date } },
                { createdAt: after.value as Date, id: { lt: after.id } },
              ],
            },
      );
    }
    const rows = await this.prisma.prediction.findMany({
      where: { AND: and },
      orderBy: byKey ? [{ key: 'asc' }, { id: 'asc' }] : [{ createdAt: 'desc' }, { id: 'desc' }],
      take: q.limit + 1,
    });
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    const next =
      rows.length > q.limit && last ? encodeCursor(byKey ? last.key : last.createdAt, last.id) : null;
    return { items, nextCursor: next };
  }

  /**
   * Histogram of P(disease) over every prediction the filters select (not one page): counts in
   * `bins` equal-width bins over [0, 1] (default 10; the last bin includes 1), plus how many of the
   * selected predictions have no probability (ungradable or failed).
   */
  @Get('histogram')
  async histogram(@Query() query: unknown) {
    const q = parseInput(predictionHistogramQuery, query, 'query');
    const n = q.bins ?? 10;
    const and = predictionFilters(q);
    const edges = Array.from({ length: n + 1 }, (_, i) => i / n);
    const [unscored, ...counts] = await this.prisma.$transaction([
      this.prisma.prediction.count({ where: { AND: [...and, { probability: null }] } }),
      ...edges.slice(0, n).map((lo, i) =>
        this.prisma.prediction.count({
          where: {
            AND: [...and, { probability: i === n - 1 ? { gte: lo, lte: 1 } : { gte: lo, lt: edges[i + 1] } }],
          },
        }),
      ),
    ]);
    return { edges, counts, scored: counts.reduce((a, b) => a + b, 0), unscored };
  }
}

/** The WHERE conditions of a prediction query's filters (key, prefix, version, label, flags, dates). */
function predictionFilters(q: {
  key?: string;
  prefix?: string;
  modelVersionId?: string;
  label?: number;
  ungradable?: boolean;
  from?: Date;
  to?: Date;
}): Prisma.PredictionWhereInput[] {
  const and: Prisma.PredictionWhereInput[] = [];
  if (q.key) and.push({ key: q.key });
  // A range on the key (not LIKE) so the btree index on key serves it under any collation.
  if (q.prefix) and.push({ key: { gte: q.prefix, lt: `${q.prefix}\u{10FFFF}`, startsWith: q.prefix } });
  if (q.modelVersionId) and.push({ modelVersionId: q.modelVersionId });
  if (q.label !== undefined) and.push({ label: q.label });
  if (q.ungradable !== undefined) and.push({ ungradable: q.ungradable });
  if (q.from || q.to) and.push({ createdAt: { gte: q.from, lt: q.to } });
  return and;
}
