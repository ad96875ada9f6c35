/**
 * Builders for database rows in tests: sensible defaults, overrides for what a test cares about.
 * Keep additive — several suites use them.
 */
import { randomUUID } from 'node:crypto';
import type { Dataset, ModelVersion, PrismaClient, Run } from '@fundus/db';
import { generateFundus } from '@fundus/imaging';
import { createModel, initBackend, saveModel, type BackendName } from '@fundus/model';
import type { ObjectStore } from '@fundus/storage';
import sharp from 'sharp';

/** A minimal dataset row (no items). */
export function buildDataset(
  prisma: PrismaClient,
  overrides: Partial<Pick<Dataset, 'name' | 'storagePrefix'>> = {},
): Promise<Dataset> {
  return prisma.dataset.create({
    data: {
      name: overrides.name ?? `ds-${randomUUID()}`,
      storagePrefix: overrides.storagePrefix ?? 'datasets/test/',
      labelMap: { disease: 1, normal: 0 },
      digest: 'sha256:test',
      counts: { train: { '0': 1, '1': 1 } },
    },
  });
}

/** A succeeded run on a fresh dataset (or `datasetId`). */
export async function buildRun(
  prisma: PrismaClient,
  overrides: { datasetId?: string; config?: object } = {},
): Promise<Run> {
  const datasetId = overrides.datasetId ?? (await buildDataset(prisma)).id;
  return prisma.run.create({
    data: {
      datasetId,
      seed: 1,
      config: overrides.config ?? { model: { architecture: 'tiny-resnet', inputSize: 32 } },
      status: 'succeeded',
    },
  });
}

export interface ModelVersionOptions {
  /** Input side in pixels. Default 32. */
  inputSize?: number;
  /** Default 0.5. */
  threshold?: number;
  /** Weight-init seed of the tiny ResNet. Default 1. */
  seed?: number;
  /** Backend to build the model on in this process. Default `cpu`. */
  backend?: BackendName;
  /** Mark it champion directly (bypassing the promote audit; use the service to test promotion). */
  champion?: boolean;
}

/**
 * An untrained tiny ResNet saved to `store` under `models/<uuid>/` and a ModelVersion row (with
 * its run and dataset) pointing at it. Its probabilities are arbitrary but deterministic.
 */
export async function buildModelVersion(
  prisma: PrismaClient,
  store: ObjectStore,
  opts: ModelVersionOptions = {},
): Promise<ModelVersion> {
  const inputSize = opts.inputSize ?? 32;
  await initBackend(opts.backend ?? 'cpu');
  const model = createModel({
    architecture: 'tiny-resnet',
    inputSize,
    seed: opts.seed ?? 1,
    widths: [4, 8, 8],
  });
  const prefix = `models/${randomUUID()}`;
  try {
    await saveModel(model, store, prefix, { architecture: 'tiny-resnet' });
  } finally {
    model.dispose();
  }
  const run = await buildRun(prisma);
  return prisma.modelVersion.create({
    data: {
      runId: run.id,
      format: 'tfjs-layers',
      uri: store.uriFor(`${prefix}/model.json`),
      architecture: 'tiny-resnet',
      inputSize,
      threshold: opts.threshold ?? 0.5,
      champion: opts.champion ?? false,
      promotedAt: opts.champion ? new Date() : null,
    },
  });
}

/** A synthetic fundus JPEG (gradable), `size` px square. */
export function fundusJpeg(seed: number, size = 96, disease = false): Promise<Buffer> {
  return generateFundus({ seed, size, disease, exposure: 1 });
}

/** An all-black JPEG: decodes, but the quality gate calls it ungradable. */
export function blackJpeg(size = 96): Promise<Buffer> {
  return sharp({ create: { width: size, height: size, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .jpeg()
    .toBuffer();
}

/** A JPEG cut in half: recognised as JPEG, cannot be decoded. */
export async function truncatedJpeg(seed = 5): Promise<Buffer> {
  const full = await fundusJpeg(seed);
  return full.subarray(0, Math.floor(full.length / 2));
}
