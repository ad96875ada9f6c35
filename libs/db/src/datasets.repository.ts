import type { Prisma, PrismaClient } from './client';
import { DbError } from './errors';
import type { Dataset, DatasetItem, DatasetSplit } from './generated/client';

export type { Dataset, DatasetItem };

/** One image of a dataset. `key` is relative to the storage root; `etag` as the store reports it. */
export interface NewDatasetItem {
  key: string;
  etag: string;
  /** Integer class from the dataset's label map (1 = disease, 0 = normal by default). */
  label: number;
  split: DatasetSplit;
  patientId?: string | null;
}

/** A fully validated dataset, as built by libs/storage's dataset registration. */
export interface NewDataset {
  name: string;
  /** Where the images live, e.g. `s3://bucket/datasets/seed/`. */
  storagePrefix: string;
  /** Explicit label map, e.g. `{ disease: 1, normal: 0 }`. */
  labelMap: Record<string, number>;
  /** Digest over the sorted (key, ETag, label, split) tuples. */
  digest: string;
  /** Counts per split and label, e.g. `{ train: { '0': 993, '1': 646 }, ... }`. */
  counts: Record<string, Record<string, number>>;
  items: NewDatasetItem[];
  createdBy?: string | null;
}

/** The name is taken by a dataset with different content (another digest). */
export class DatasetConflictError extends DbError {
  constructor(
    readonly datasetName: string,
    readonly existingDigest: string,
    readonly newDigest: string,
  ) {
    super(
      'conflict',
      `dataset "${datasetName}" is already registered with digest ${existingDigest}; the new content has ${newDigest}. ` +
        'Register it under a new name (datasets are immutable so that runs stay reproducible).',
    );
    this.name = 'DatasetConflictError';
  }
}

const ITEMS_PER_INSERT = 2_000;

/** Datasets and their items. Datasets are immutable once registered. */
export class DatasetsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Stores a dataset and all its items in one transaction. Registering the same name again with
   * the same digest returns the existing dataset (`created: false`); with another digest it throws
   * DatasetConflictError. Safe against two concurrent registrations of the same name.
   */
  async register(d: NewDataset): Promise<{ dataset: Dataset; created: boolean }> {
    const existing = await this.prisma.dataset.findUnique({ where: { name: d.name } });
    if (existing) return { dataset: this.sameOrConflict(existing, d), created: false };
    try {
      const dataset = await this.prisma.$transaction(
        async (tx) => {
          const ds = await tx.dataset.create({
            data: {
              name: d.name,
              storagePrefix: d.storagePrefix,
              labelMap: d.labelMap as Prisma.InputJsonValue,
              digest: d.digest,
              counts: d.counts as Prisma.InputJsonValue,
              createdBy: d.createdBy ?? null,
            },
          });
          for (let i = 0; i < d.items.length; i += ITEMS_PER_INSERT) {
            await tx.datasetItem.createMany({
              data: d.items.slice(i, i + ITEMS_PER_INSERT).map((it) => ({
                datasetId: ds.id,
                key: it.key,
                etag: it.etag,
                label: it.label,
                split: it.split,
                patientId: it.patientId ?? null,
              })),
            });
          }
          return ds;
        },
        { timeout: 120_000, maxWait: 10_000 },
      );
      return { dataset, created: true };
    } catch (err) {
      if ((err as { code?: string }).code === 'P2002') {
        // Lost a race with a concurrent registration of the same name.
        const winner = await this.prisma.dataset.findUnique({ where: { name: d.name } });
        if (winner) return { dataset: this.sameOrConflict(winner, d), created: false };
      }
      throw err;
    }
  }

  async get(id: string): Promise<Dataset> {
    const ds = await this.prisma.dataset.findUnique({ where: { id } });
    if (!ds) throw new DbError('not-found', `dataset ${id} does not exist`);
    return ds;
  }

  async getByName(name: string): Promise<Dataset> {
    const ds = await this.prisma.dataset.findUnique({ where: { name } });
    if (!ds) throw new DbError('not-found', `dataset "${name}" does not exist`);
    return ds;
  }

  /** Items of a dataset, optionally of one split, ordered by key. */
  items(datasetId: string, split?: DatasetSplit): Promise<DatasetItem[]> {
    return this.prisma.datasetItem.findMany({
      where: { datasetId, ...(split ? { split } : {}) },
      orderBy: { key: 'asc' },
    });
  }

  /** Newest first. */
  list(options: { take?: number; skip?: number } = {}): Promise<Dataset[]> {
    return this.prisma.dataset.findMany({
      orderBy: { createdAt: 'desc' },
      take: options.take ?? 100,
      skip: options.skip ?? 0,
    });
  }

  private sameOrConflict(existing: Dataset, d: NewDataset): Dataset {
    if (existing.digest !== d.digest) throw new DatasetConflictError(d.name, existing.digest, d.digest);
    return existing;
  }
}
