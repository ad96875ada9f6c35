import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSyntheticDataset } from '@fundus/imaging';
import { createObjectStore, registerDataset } from '@fundus/storage';
import { DatasetsRepository, type PrismaClient } from '@fundus/db';
import type { RunConfigInput } from '@fundus/services';

/** A local storage root holding a small synthetic fundus dataset, registered in the database. */
export async function syntheticDataset(
  prisma: PrismaClient,
  opts: {
    name: string;
    seed?: number;
    size?: number;
    perClass?: { train: number; val: number; test: number };
  },
): Promise<{ storageRoot: string; storageUri: string; datasetId: string }> {
  const storageRoot = mkdtempSync(join(tmpdir(), 'fundus-train-'));
  const n = opts.perClass ?? { train: 12, val: 6, test: 6 };
  await writeSyntheticDataset({
    root: join(storageRoot, 'datasets', opts.name),
    size: opts.size ?? 96,
    seed: opts.seed ?? 1,
    counts: {
      train: { normal: n.train, disease: n.train },
      val: { normal: n.val, disease: n.val },
      test: { normal: n.test, disease: n.test },
    },
    severityMix: { moderate: 1, severe: 1 },
  });
  const storageUri = `file://${storageRoot}`;
  const store = createObjectStore(storageUri);
  try {
    const { datasetId } = await registerDataset(store, new DatasetsRepository(prisma), {
      name: opts.name,
      prefix: `datasets/${opts.name}/`,
    });
    return { storageRoot, storageUri, datasetId };
  } finally {
    await store.close();
  }
}

/** A run config small enough to train in seconds on 2 CPU cores. */
export function tinyRunConfig(overrides: Partial<RunConfigInput> = {}): RunConfigInput {
  return {
    model: { architecture: 'tiny-resnet', inputSize: 32, widths: [4, 8, 8] },
    loss: { kind: 'focal-seed', alpha: 2, gamma: 2 },
    learningRate: 3e-3,
    epochs: 2,
    batchSize: 8,
    augment: false,
    thresholdPolicy: { kind: 'sensitivity-at-least', target: 0.9 },
    backend: 'cpu',
    ...overrides,
  };
}
