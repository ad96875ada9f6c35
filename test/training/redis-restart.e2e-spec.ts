import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrismaClient, type PrismaClient } from '@fundus/db';
import { JobQueues, redisConnection } from '@fundus/jobs';
import { RunsService } from '@fundus/services';
import { testEnv } from '../support/env';
import { spawnTs, type Spawned } from '../support/processes';
import { syntheticDataset, tinyRunConfig } from '../support/training-fixtures';

jest.setTimeout(300_000);

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
    srv.on('error', rej);
  });
}

/** A private redis-server with an append-only file, so a restart keeps the queues (as in production). */
async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir],
    {
      stdio: 'ignore',
    },
  );
  for (let i = 0; i < 100; i++) {
    try {
      if (
        execFileSync('redis-cli', ['-p', String(port), 'ping'])
          .toString()
          .trim() === 'PONG'
      )
        return child;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('redis-server did not start');
}

describe('Redis restarted mid-run', () => {
  let prisma: PrismaClient;
  let redis: ChildProcess | undefined;
  let worker: Spawned | undefined;
  let queues: JobQueues | undefined;

  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await queues?.close().catch(() => undefined);
    redis?.kill('SIGKILL');
    await prisma?.$disconnect();
  });

  it('the worker reconnects and the run completes without duplicate rows', async () => {
    prisma = createPrismaClient(process.env.DATABASE_URL!);
    const { storageUri, datasetId } = await syntheticDataset(prisma, { name: 'redis-restart-e2e', seed: 8 });
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'fundus-redis-'));
    redis = await startRedis(port, dir);
    const redisUrl = `redis://127.0.0.1:${port}`;
    queues = new JobQueues(redisConnection(redisUrl), 'fundus-restart');
    const run = await new RunsService(prisma, queues).createRun({
      datasetId,
      seed: 12,
      config: tinyRunConfig({ epochs: 6, batchSize: 4 }),
    });
    worker = spawnTs(
      'apps/gpu-worker/src/main.ts',
      testEnv({
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: 'fundus-restart',
        WORKER_QUEUES: 'training',
        STORAGE_URI: storageUri,
        CACHE_DIR: mkdtempSync(join(tmpdir(), 'fundus-cache-')),
        MODEL_BACKEND: 'cpu',
        NIGHTLY_ENABLED: 'false',
      }),
    );
    for (;;) {
      const r = await prisma.run.findUniqueOrThrow({ where: { id: run.id } });
      if ((r.checkpointEpoch ?? 0) >= 1) break;
      if (r.status === 'failed' || r.status === 'succeeded')
        throw new Error(`run ended before the restart: ${r.status}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    // Restart Redis: SHUTDOWN flushes the append-only file; the new server reloads it.
    execFileSync('redis-cli', ['-p', String(port), 'shutdown']);
    await new Promise<void>((res) => redis!.once('exit', () => res()));
    redis = await startRedis(port, dir);

    let done;
    for (let i = 0; ; i++) {
      done = await prisma.run.findUniqueOrThrow({ where: { id: run.id } });
      if (done.status === 'succeeded' || done.status === 'failed') break;
      if (i > 1200) throw new Error(`run still ${done.status}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    expect({ status: done.status, error: done.error }).toEqual({ status: 'succeeded', error: null });
    const epochs = await prisma.runEpoch.findMany({ where: { runId: run.id }, orderBy: { epoch: 'asc' } });
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await prisma.modelVersion.count({ where: { runId: run.id } })).toBe(1);
    // The job itself ends completed in the restarted Redis (the worker's connections came back).
    const job = await queues.queue('training' as never).getJob(`train-${run.id}`);
    for (let i = 0; i < 100 && !(await job?.isCompleted()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await job?.isCompleted()).toBe(true);
  });
});
