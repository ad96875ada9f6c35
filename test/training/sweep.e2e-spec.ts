import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrismaClient, type PrismaClient } from '@fundus/db';
import { JobQueues, redisConnection } from '@fundus/jobs';
import { SweepsService } from '@fundus/services';
import { createObjectStore } from '@fundus/storage';
import { testEnv } from '../support/env';
import { spawnTs, type Spawned } from '../support/processes';
import { syntheticDataset, tinyRunConfig } from '../support/training-fixtures';

jest.setTimeout(400_000);

describe('a 2 × 2 alpha × gamma sweep on two worker processes', () => {
  const prefix = `${process.env.QUEUE_PREFIX}-sweep`;
  let prisma: PrismaClient;
  let queues: JobQueues;
  let workers: Spawned[] = [];
  let storageUri: string;
  let datasetId: string;

  beforeAll(async () => {
    prisma = createPrismaClient(process.env.DATABASE_URL!);
    ({ storageUri, datasetId } = await syntheticDataset(prisma, { name: 'sweep-e2e', seed: 5 }));
    queues = new JobQueues(redisConnection(process.env.REDIS_URL!), prefix);
    const cache = mkdtempSync(join(tmpdir(), 'fundus-cache-'));
    workers = [1, 2].map(() =>
      spawnTs(
        'apps/gpu-worker/src/main.ts',
        testEnv({
          QUEUE_PREFIX: prefix,
          WORKER_QUEUES: 'training,sweeps',
          STORAGE_URI: storageUri,
          CACHE_DIR: cache,
          MODEL_BACKEND: 'cpu',
        }),
      ),
    );
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await queues.obliterateAll();
    await queues.close();
    await prisma.$disconnect();
  });

  it('finishes with four trials, a leaderboard and a sweep report, never exceeding its parallel cap', async () => {
    const service = new SweepsService(prisma, queues, { maxTrials: 16 });
    const sweep = await service.createSweep({
      datasetId,
      name: 'e2e',
      space: { alpha: [0.5, 2], gamma: [0, 2] },
      maxParallel: 1,
      seed: 11,
      baseConfig: tinyRunConfig({ epochs: 1 }) as Record<string, unknown>,
    });
    expect(sweep.runIds).toHaveLength(4);

    const deadline = Date.now() + 300_000;
    let maxRunning = 0;
    let done;
    for (;;) {
      maxRunning = Math.max(
        maxRunning,
        await prisma.run.count({ where: { sweepId: sweep.id, status: 'running' } }),
      );
      done = await prisma.sweep.findUniqueOrThrow({ where: { id: sweep.id }, include: { runs: true } });
      if (['succeeded', 'failed', 'canceled'].includes(done.status)) break;
      if (Date.now() > deadline) throw new Error(`sweep still ${done.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(done.status).toBe('succeeded');
    expect(maxRunning).toBeLessThanOrEqual(1);
    expect(done.runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    // Both workers took part.
    const pids = new Set(workers.filter((w) => /training on cpu/.test(w.output())).map((w) => w.child.pid));
    expect(pids.size).toBe(2);

    const leaderboard = done.leaderboard as {
      runId: string;
      alpha: number;
      gamma: number;
      objective: number;
      status: string;
    }[];
    expect(leaderboard).toHaveLength(4);
    expect(new Set(leaderboard.map((t) => `${t.alpha}/${t.gamma}`))).toEqual(
      new Set(['0.5/0', '0.5/2', '2/0', '2/2']),
    );
    const objectives = leaderboard.map((t) => t.objective);
    expect([...objectives].sort((a, b) => b - a)).toEqual(objectives);
    expect(done.bestRunId).toBe(leaderboard[0].runId);
    // Each trial's objective recomputed from its stored validation scores, saved on the run.
    for (const run of done.runs)
      expect(run.objective).toBe(leaderboard.find((t) => t.runId === run.id)!.objective);

    const store = createObjectStore(storageUri);
    try {
      const html = (await store.getBuffer(store.keyFromUri(done.reportUri!))).toString();
      expect(html).toMatch(/<svg/);
    } finally {
      await store.close();
    }
  });

  it('median stopping: a trial below the median of finished trials at epoch k stops there and is still evaluated', async () => {
    const service = new SweepsService(prisma, queues, { maxTrials: 16 });
    const sweep = await service.createSweep({
      datasetId,
      name: 'median',
      space: { alpha: [2], gamma: [2] },
      maxParallel: 1,
      medianStopping: true,
      seed: 21,
      // A learning rate this small keeps the trial near chance, far below the finished trial.
      baseConfig: tinyRunConfig({ epochs: 5, learningRate: 1e-7 }) as Record<string, unknown>,
    });
    // A finished trial of the same sweep with a perfect validation AUC at every epoch.
    const finished = await prisma.run.create({
      data: { datasetId, sweepId: sweep.id, trialIndex: 99, config: {}, seed: 0, status: 'succeeded' },
    });
    for (let epoch = 1; epoch <= 5; epoch++) {
      await prisma.runEpoch.create({
        data: { runId: finished.id, epoch, trainLoss: 0.1, valAuc: 1, lr: 1e-3, seconds: 1 },
      });
    }
    const deadline = Date.now() + 240_000;
    let trial;
    for (;;) {
      trial = await prisma.run.findUniqueOrThrow({ where: { id: sweep.runIds[0] } });
      if (['succeeded', 'failed', 'canceled'].includes(trial.status)) break;
      if (Date.now() > deadline) throw new Error(`trial still ${trial.status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect({ status: trial.status, error: trial.error }).toEqual({ status: 'succeeded', error: null });
    const epochs = await prisma.runEpoch.findMany({ where: { runId: trial.id }, orderBy: { epoch: 'asc' } });
    expect(epochs.map((e) => e.epoch)).toEqual([1]);
    expect(epochs[0].valAuc).toBeLessThan(1);
    expect(trial.valMetrics).toMatchObject({ stoppedEarly: true, medianStoppedAt: 1, epochsRun: 1 });
    expect(await prisma.modelVersion.count({ where: { runId: trial.id } })).toBe(1);
    expect(workers.some((w) => /median stopping rule: stopping after epoch 1/.test(w.output()))).toBe(true);
  });
});
