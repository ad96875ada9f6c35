import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrismaClient, type PrismaClient } from '@fundus/db';
import { JobQueues, redisConnection } from '@fundus/jobs';
import { RunsService } from '@fundus/services';
import { testEnv } from '../support/env';
import { spawnTs, type Spawned } from '../support/processes';
import { syntheticDataset, tinyRunConfig } from '../support/training-fixtures';

jest.setTimeout(300_000);

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('a worker dying mid-run', () => {
  const prefix = `${process.env.QUEUE_PREFIX}-resume`;
  let prisma: PrismaClient;
  let queues: JobQueues;
  let service: RunsService;
  let storageUri: string;
  let datasetId: string;
  const workers: Spawned[] = [];
  const start = () => {
    const w = spawnTs(
      'apps/gpu-worker/src/main.ts',
      testEnv({
        QUEUE_PREFIX: prefix,
        WORKER_QUEUES: 'training',
        STORAGE_URI: storageUri,
        CACHE_DIR: mkdtempSync(join(tmpdir(), 'fundus-cache-')),
        MODEL_BACKEND: 'cpu',
        WORKER_LOCK_MS: '3000',
      }),
    );
    workers.push(w);
    return w;
  };

  beforeAll(async () => {
    prisma = createPrismaClient(process.env.DATABASE_URL!);
    ({ storageUri, datasetId } = await syntheticDataset(prisma, { name: 'resume-e2e', seed: 2 }));
    queues = new JobQueues(redisConnection(process.env.REDIS_URL!), prefix);
    service = new RunsService(prisma, queues);
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL')));
  });

  afterAll(async () => {
    await queues.obliterateAll();
    await queues.close();
    await prisma.$disconnect();
  });

  it('SIGKILL after the first checkpoint: picked up again, resumes from that epoch, one model version', async () => {
    const epochs = 5;
    const run = await service.createRun({
      datasetId,
      seed: 9,
      config: tinyRunConfig({ epochs, batchSize: 4 }),
    });
    const first = start();
    const checkpointEpoch = await until('first checkpoint', async () => {
      const r = await prisma.run.findUniqueOrThrow({ where: { id: run.id } });
      return (r.checkpointEpoch ?? 0) >= 1 ? r.checkpointEpoch! : undefined;
    });
    await first.stop('SIGKILL');
    expect(first.output()).not.toMatch(/succeeded/);

    const second = start();
    const resumed = await second.waitFor(/resumed from epoch (\d+)/, 120_000);
    expect(Number(resumed[1])).toBeGreaterThanOrEqual(checkpointEpoch);
    expect(Number(resumed[1])).toBeGreaterThan(0);

    const done = await until('run to finish', async () => {
      const r = await prisma.run.findUniqueOrThrow({ where: { id: run.id } });
      return ['succeeded', 'failed'].includes(r.status) ? r : undefined;
    });
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    const rows = await prisma.runEpoch.findMany({ where: { runId: run.id }, orderBy: { epoch: 'asc' } });
    expect(rows.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5]);
    expect(await prisma.modelVersion.count({ where: { runId: run.id } })).toBe(1);
  });

  it('SIGTERM releases the job at a batch boundary; another worker resumes it', async () => {
    const run = await service.createRun({
      datasetId,
      seed: 10,
      config: tinyRunConfig({ epochs: 4, batchSize: 4 }),
    });
    const first = start();
    await until('first checkpoint', async () => {
      const r = await prisma.run.findUniqueOrThrow({ where: { id: run.id } });
      return (r.checkpointEpoch ?? 0) >= 1 ? true : undefined;
    });
    const exit = await first.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(first.output()).toMatch(/job released/);
    expect((await prisma.run.findUniqueOrThrow({ where: { id: run.id } })).status).toBe('queued');

    const second = start();
    await second.waitFor(/resumed from epoch [1-9]/, 120_000);
    const done = await until('run to finish', async () => {
      const r = await prisma.run.findUniqueOrThrow({ where: { id: run.id } });
      return ['succeeded', 'failed'].includes(r.status) ? r : undefined;
    });
    expect({ status: done.status, error: done.error }).toEqual({ status: 'succeeded', error: null });
    expect(await prisma.modelVersion.count({ where: { runId: run.id } })).toBe(1);
  });
});
