import type { Prisma, PrismaClient } from './client';
import { DbError } from './errors';
import type { ModelVersion } from './generated/client';

export type { ModelVersion };

/** A model version as the training job registers it. */
export interface NewModelVersion {
  runId: string;
  /** `tfjs-layers` | `onnx` */
  format: string;
  /** Storage URI of the model's folder (or of its `model.json`). */
  uri: string;
  onnxUri?: string | null;
  architecture: string;
  /** Input side in pixels. */
  inputSize: number;
  /** Operating threshold on P(disease), chosen on validation data, in [0, 1]. */
  threshold: number;
}

/** The audit action written when a model version becomes champion. */
export const PROMOTE_ACTION = 'model.promote';

/** Model versions and the champion flag (at most one champion at any time). */
export class ModelsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  create(m: NewModelVersion): Promise<ModelVersion> {
    return this.prisma.modelVersion.create({ data: { ...m } });
  }

  async get(id: string): Promise<ModelVersion> {
    const m = await this.prisma.modelVersion.findUnique({ where: { id } });
    if (!m) throw new DbError('not-found', `model version ${id} does not exist`);
    return m;
  }

  find(id: string): Promise<ModelVersion | null> {
    return this.prisma.modelVersion.findUnique({ where: { id } });
  }

  /** The current champion, or null when none was promoted yet. */
  champion(): Promise<ModelVersion | null> {
    return this.prisma.modelVersion.findFirst({ where: { champion: true }, orderBy: { promotedAt: 'desc' } });
  }

  /**
   * Makes `id` the one champion, in one transaction: the previous champion loses the flag, `id`
   * gains it with `promotedAt`/`promotedBy`, and an audit event records who replaced whom.
   * Promotions are serialised with a transaction-scoped advisory lock, so two concurrent promotions
   * cannot leave two champions. Promoting the current champion again changes nothing and writes no
   * event (`changed: false`).
   * @throws DbError `not-found` when the version does not exist.
   */
  async promote(
    id: string,
    actorId?: string | null,
  ): Promise<{ model: ModelVersion; previousId: string | null; changed: boolean }> {
    return this.prisma.$transaction(async (tx) => {
      // One lock key for "the champion"; released at commit or rollback.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('fundus.model.champion'))`;
      const target = await tx.modelVersion.findUnique({ where: { id } });
      if (!target) throw new DbError('not-found', `model version ${id} does not exist`);
      const previous = await tx.modelVersion.findMany({ where: { champion: true }, select: { id: true } });
      if (target.champion && previous.length === 1) return { model: target, previousId: id, changed: false };
      await tx.modelVersion.updateMany({
        where: { champion: true, id: { not: id } },
        data: { champion: false },
      });
      const model = await tx.modelVersion.update({
        where: { id },
        data: { champion: true, promotedAt: new Date(), promotedBy: actorId ?? null },
      });
      const previousId = previous.find((p) => p.id !== id)?.id ?? null;
      await tx.auditEvent.create({
        data: {
          actorId: actorId ?? null,
          action: PROMOTE_ACTION,
          subject: `model-version:${id}`,
          details: {
            previousChampion: previousId,
            runId: model.runId,
            threshold: model.threshold,
          } as Prisma.InputJsonValue,
        },
      });
      return { model, previousId, changed: true };
    });
  }
}
