import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueEvents } from 'bullmq';
import { createPrismaClient, type PrismaClient } from '@fundus/db';
import { JobQueues, QueueName, redisConnection } from '@fundus/jobs';
import { RunsService } from '@fundus/services';
import { createObjectStore } from '@fundus/storage';
import { testEnv } from '../support/env';
import { spawnTs, type Spawned } from '../support/processes';
import { syntheticDataset, tinyRunConfig } from '../support/training-fixtures';

jest.setTimeout(240_000);

async function waitForRun(prisma: PrismaClient, runId: string, statuses: string[], timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await prisma.run.findUniqueOrThrow({ where: { id: runId } });
    if (statuses.includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${run.status} (${run.error ?? ''})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('training runs through the worker process', () => {
  const prefix = `${process.env.QUEUE_PREFIX}-train`;
  let prisma: PrismaClient;
  let queues: JobQueues;
  let events: QueueEvents;
  let service: RunsService;
  let worker: Spawned | undefined;
  let storageUri: string;
  let datasetId: string;
  const env = () =>
    testEnv({
      QUEUE_PREFIX: prefix,
      WORKER_QUEUES: 'training',
      STORAGE_URI: storageUri,
      CACHE_DIR: mkdtempSync(join(tmpdir(), 'fundus-cache-')),
      MODEL_BACKEND: 'cpu',
    });

  beforeAll(async () => {
    prisma = createPrismaClient(process.env.DATABASE_URL!);
    ({ storageUri, datasetId } = await syntheticDataset(prisma, { name: 'train-e2e' }));
    queues = new JobQueues(redisConnection(process.env.REDIS_URL!), prefix);
    events = new QueueEvents(QueueName.Training, {
      connection: redisConnection(process.env.REDIS_URL!),
      prefix,
    });
    service = new RunsService(prisma, queues);
  });

  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
  });

  afterAll(async () => {
    await events.close();
    await queues.obliterateAll();
    await queues.close();
    await prisma.$disconnect();
  });

  it('goes from queued to succeeded with epochs, metrics, report and one model version', async () => {
    const run = await service.createRun({ datasetId, seed: 3, config: tinyRunConfig() });
    expect(run.status).toBe('queued');
    worker = spawnTs('apps/gpu-worker/src/main.ts', env());
    const done = await waitForRun(prisma, run.id, ['succeeded', 'failed']);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.progress).toBe(1);
    expect(done.backend).toBe('cpu');

    const epochs = await prisma.runEpoch.findMany({ where: { runId: run.id }, orderBy: { epoch: 'asc' } });
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2]);
    for (const e of epochs) expect(Number.isFinite(e.trainLoss)).toBe(true);

    // Threshold chosen on validation by the run's policy, test metrics at it, with CIs.
    expect(done.thresholdPolicy).toMatchObject({ kind: 'sensitivity-at-least', target: 0.9 });
    expect(done.threshold).toBeGreaterThanOrEqual(0);
    expect(done.threshold).toBeLessThanOrEqual(1);
    const test = done.testMetrics as {
      test: { tp: number; fn: number; tn: number; fp: number };
      aucCi: unknown;
      ci: object;
    };
    expect(test.test.tp + test.test.fn).toBe(6);
    expect(test.test.tn + test.test.fp).toBe(6);
    expect(test.aucCi).toBeTruthy();
    expect(Object.keys(test.ci).length).toBeGreaterThan(0);
    expect(done.auc).toBeGreaterThanOrEqual(0);
    const val = done.valMetrics as { labels: number[]; scores: number[] };
    expect(val.labels).toHaveLength(12);
    expect(val.scores).toHaveLength(12);

    const versions = await prisma.modelVersion.findMany({ where: { runId: run.id } });
    expect(versions).toHaveLength(1);
    expect(versions[0]).toMatchObject({
      architecture: 'tiny-resnet',
      inputSize: 32,
      threshold: done.threshold,
      champion: false,
    });

    const store = createObjectStore(storageUri);
    try {
      const html = (await store.getBuffer(store.keyFromUri(done.reportUri!))).toString();
      expect(html).toContain('<svg');
      expect(html).toMatch(/precision/);
      expect(await store.stat(`${store.keyFromUri(versions[0].uri)}/model.json`)).toBeDefined();
      // Both formats: the ONNX export sits next to the tfjs model.
      expect(versions[0].onnxUri).toBe(`${versions[0].uri}/model.onnx`);
      expect((await store.stat(store.keyFromUri(versions[0].onnxUri!)))?.size).toBeGreaterThan(1000);
    } finally {
      await store.close();
    }
  });

  it('cancelling a running job stops it; status canceled, nothing versioned', async () => {
    const run = await service.createRun({
      datasetId,
      seed: 4,
      config: tinyRunConfig({ epochs: 50, batchSize: 4 }),
    });
    worker = spawnTs('apps/gpu-worker/src/main.ts', env());
    await waitForRun(prisma, run.id, ['running']);
    // Let it get into the epochs, then cancel.
    for (let i = 0; i < 400; i++) {
      const r = await prisma.run.findUniqueOrThrow({ where: { id: run.id } });
      if ((r.currentEpoch ?? 0) >= 1 || r.progress > 0) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    await service.cancelRun(run.id);
    await worker.waitFor(/canceled/, 60_000);
    const after = await prisma.run.findUniqueOrThrow({ where: { id: run.id } });
    expect(after.status).toBe('canceled');
    expect(after.currentEpoch ?? 0).toBeLessThan(50);
    expect(await prisma.modelVersion.count({ where: { runId: run.id } })).toBe(0);
  });

  it('a run whose config became invalid fails without retries', async () => {
    const run = await service.createRun({ datasetId, seed: 5, config: tinyRunConfig() });
    await prisma.run.update({ where: { id: run.id }, data: { config: { epochs: -1 } } });
    worker = spawnTs('apps/gpu-worker/src/main.ts', env());
    const done = await waitForRun(prisma, run.id, ['failed', 'succeeded']);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/epochs: must be a positive integer/);
  });

  it('refuses an invalid config before anything is stored', async () => {
    const before = await prisma.run.count();
    await expect(
      service.createRun({ datasetId, config: { loss: { kind: 'focal-seed', alpha: -1, gamma: 2 } } }),
    ).rejects.toMatchObject({ code: 'invalid', issues: ['loss.alpha: alpha must be ≥ 0'] });
    expect(await prisma.run.count()).toBe(before);
  });
});
