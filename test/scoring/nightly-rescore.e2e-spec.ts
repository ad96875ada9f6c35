/**
 * Nightly rescoring through real worker processes (apps/gpu-worker/src/main.ts), the real Redis,
 * PostgreSQL and s3rver: the job scheduler is registered once however often workers restart, and a
 * triggered run scores only images whose current ETag has no prediction from the champion.
 */
import { QueueEvents } from 'bullmq';
import { createPrismaClient, type ModelVersion, type PrismaClient, type ScoringJob } from '@fundus/db';
import { JobName, JobQueues, QueueName, redisConnection } from '@fundus/jobs';
import { ScoringService } from '@fundus/services';
import { createObjectStore, type ObjectStore } from '@fundus/storage';
import { NIGHTLY_SCHEDULER_ID } from '../../apps/gpu-worker/src/scoring';
import { buildModelVersion, fundusJpeg, truncatedJpeg } from '../support/builders';
import { testEnv } from '../support/env';
import { spawnTs, type Spawned } from '../support/processes';
import { startS3rver, type S3rverHandle } from '../support/s3rver';

/** Polls `read` until `done` holds (a wait on the system under test, not a sleep). */
async function waitUntil<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('nightly rescoring with worker processes', () => {
  const prefix = `${process.env.QUEUE_PREFIX}-nightly`;
  let s3: S3rverHandle;
  let store: ObjectStore;
  let prisma: PrismaClient;
  let queues: JobQueues;
  let events: QueueEvents;
  let worker: Spawned | undefined;
  let champion: ModelVersion;

  const workerEnv = (cron: string) =>
    testEnv({
      QUEUE_PREFIX: prefix,
      WORKER_QUEUES: 'scoring,schedule',
      STORAGE_URI: `s3://${s3.bucket}`,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      MODEL_BACKEND: 'wasm',
      INTAKE_PREFIX: 'intake/',
      NIGHTLY_ENABLED: 'true',
      NIGHTLY_CRON: cron,
      NIGHTLY_TZ: 'Europe/Berlin',
    });

  async function startWorker(cron: string): Promise<Spawned> {
    const w = spawnTs('apps/gpu-worker/src/main.ts', workerEnv(cron));
    await w.waitFor(/worker ready/, 90_000);
    return w;
  }

  beforeAll(async () => {
    s3 = await startS3rver();
    store = createObjectStore(`s3://${s3.bucket}`, {
      s3: { endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: s3.credentials },
    });
    prisma = createPrismaClient(process.env.DATABASE_URL!);
    // A schedule saved through the API by another suite would win over NIGHTLY_CRON here.
    await prisma.setting.deleteMany({ where: { key: 'nightly' } });
    queues = new JobQueues(redisConnection(process.env.REDIS_URL!), prefix);
    events = new QueueEvents(QueueName.Schedule, {
      connection: redisConnection(process.env.REDIS_URL!),
      prefix,
    });
    await events.waitUntilReady();
  });

  afterAll(async () => {
    await worker?.stop();
    await events?.close();
    await queues?.obliterateAll();
    await queues?.close();
    await prisma?.$disconnect();
    await store?.close();
    await s3?.stop();
  });

  it('registers the job scheduler once across two worker restarts, updating its cron in place', async () => {
    const first = await startWorker('0 2 * * *');
    expect(first.output()).toMatch(/nightly rescoring scheduled/);
    expect((await first.stop('SIGTERM')).code).toBe(0);
    const second = await startWorker('0 2 * * *');
    expect((await second.stop('SIGTERM')).code).toBe(0);
    worker = await startWorker('30 1 * * *');

    const schedulers = await queues.queue(QueueName.Schedule).getJobSchedulers();
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]).toMatchObject({
      key: NIGHTLY_SCHEDULER_ID,
      name: JobName.NightlyRescore,
      pattern: '30 1 * * *',
      tz: 'Europe/Berlin',
    });
    // Exactly one upcoming run is waiting (delayed) for it.
    const delayed = (await queues.queue(QueueName.Schedule).getDelayed()).filter(
      (j) => j.name === JobName.NightlyRescore,
    );
    expect(delayed).toHaveLength(1);
  });

  it('a schedule saved through the API (Setting "nightly") survives a worker restart', async () => {
    await worker?.stop('SIGTERM');
    await prisma.setting.upsert({
      where: { key: 'nightly' },
      create: { key: 'nightly', value: { cron: '15 4 * * *', timezone: 'UTC', enabled: true } },
      update: { value: { cron: '15 4 * * *', timezone: 'UTC', enabled: true } },
    });
    try {
      worker = await startWorker('0 2 * * *');
      expect(worker.output()).toMatch(/from the saved setting/);
      const schedulers = await queues.queue(QueueName.Schedule).getJobSchedulers();
      expect(schedulers).toHaveLength(1);
      expect(schedulers[0]).toMatchObject({ key: NIGHTLY_SCHEDULER_ID, pattern: '15 4 * * *', tz: 'UTC' });
    } finally {
      await prisma.setting.deleteMany({ where: { key: 'nightly' } });
    }
  });

  it('a scoring job submitted through the service is planned and scored by the worker; a corrupt image does not fail its chunk', async () => {
    const mv = await buildModelVersion(prisma, store, { inputSize: 32, threshold: 0.5, seed: 3 });
    await store.put('manual/ok-1.jpg', await fundusJpeg(301));
    await store.put('manual/ok-2.jpg', await fundusJpeg(302));
    await store.put('manual/broken.jpg', await truncatedJpeg(303));
    const created = await new ScoringService(prisma, queues).createScoringJob(mv.id, 'manual/');
    const job = await waitUntil(
      () => prisma.scoringJob.findUniqueOrThrow({ where: { id: created.id } }),
      (j: ScoringJob) => j.status !== 'running' && j.status !== 'queued',
    );
    expect(job).toMatchObject({
      status: 'succeeded',
      totalKeys: 3,
      chunks: 1,
      chunksDone: 1,
      scored: 2,
      failed: 1,
    });
    const chunkJob = await queues.queue(QueueName.Scoring).getJob(`score-${created.id}-0`);
    expect(await chunkJob!.getState()).toBe('completed');
    // One attempt, no failure (attemptsMade counts finished attempts, successful ones too).
    expect(chunkJob!.attemptsStarted).toBe(1);
    expect(chunkJob!.failedReason).toBeFalsy();
    const broken = await prisma.prediction.findUniqueOrThrow({
      where: {
        key_etag_modelVersionId: {
          key: 'manual/broken.jpg',
          etag: (await store.head('manual/broken.jpg')).etag,
          modelVersionId: mv.id,
        },
      },
    });
    expect(broken.error).toMatch(/^corrupt: /);
  });

  it('with no champion a nightly run does nothing and succeeds', async () => {
    // This suite owns the champion flag of its database while it runs.
    await prisma.modelVersion.updateMany({ where: { champion: true }, data: { champion: false } });
    const job = await queues.enqueue(JobName.NightlyRescore, {});
    const result = (await job.waitUntilFinished(events, 30_000)) as {
      scoringJobId: string | null;
      note: string;
    };
    expect(result.scoringJobId).toBeNull();
    expect(result.note).toMatch(/no champion/);
  });

  it('triggered by its scheduler, then again: scores only new or changed intake images with the champion', async () => {
    champion = await buildModelVersion(prisma, store, { inputSize: 32, threshold: 0.5 });
    await new ScoringService(prisma, queues).promoteModelVersion(champion.id);
    await store.put('intake/2026-11-25/a.jpg', await fundusJpeg(101));
    await store.put('intake/2026-11-25/b.jpg', await fundusJpeg(102));
    await store.put('intake/2026-11-25/c.jpg', await fundusJpeg(103));
    await store.put('elsewhere/not-intake.jpg', await fundusJpeg(104));

    // Fire the scheduler's pending run now instead of waiting for 01:30.
    const [pending] = (await queues.queue(QueueName.Schedule).getDelayed()).filter(
      (j) => j.name === JobName.NightlyRescore,
    );
    await pending.promote();
    const night1 = (await pending.waitUntilFinished(events, 60_000)) as { scoringJobId: string };
    const job1 = await waitUntil(
      () => prisma.scoringJob.findUniqueOrThrow({ where: { id: night1.scoringJobId } }),
      (j: ScoringJob) => j.status !== 'running' && j.status !== 'queued',
    );
    expect(job1).toMatchObject({
      status: 'succeeded',
      trigger: 'nightly',
      modelVersionId: champion.id,
      prefix: 'intake/',
      totalKeys: 3,
      scored: 3,
      skipped: 0,
    });
    const rows1 = await prisma.prediction.findMany({
      where: { modelVersionId: champion.id },
      orderBy: { key: 'asc' },
    });
    expect(rows1.map((r) => r.key)).toEqual([
      'intake/2026-11-25/a.jpg',
      'intake/2026-11-25/b.jpg',
      'intake/2026-11-25/c.jpg',
    ]);

    // A new day: b is replaced (new ETag), d arrives, a and c are unchanged.
    const bNew = await store.put('intake/2026-11-25/b.jpg', await fundusJpeg(202));
    await store.put('intake/2026-11-26/d.jpg', await fundusJpeg(204));
    const trigger2 = await queues.enqueue(JobName.NightlyRescore, {});
    const night2 = (await trigger2.waitUntilFinished(events, 60_000)) as { scoringJobId: string };
    const job2 = await waitUntil(
      () => prisma.scoringJob.findUniqueOrThrow({ where: { id: night2.scoringJobId } }),
      (j: ScoringJob) => j.status !== 'running' && j.status !== 'queued',
    );
    expect(job2).toMatchObject({ status: 'succeeded', totalKeys: 4, skipped: 2, scored: 2 });
    const rows2 = await prisma.prediction.findMany({
      where: { modelVersionId: champion.id },
      orderBy: [{ key: 'asc' }, { createdAt: 'asc' }],
    });
    expect(rows2.map((r) => r.key)).toEqual([
      'intake/2026-11-25/a.jpg',
      'intake/2026-11-25/b.jpg',
      'intake/2026-11-25/b.jpg',
      'intake/2026-11-25/c.jpg',
      'intake/2026-11-26/d.jpg',
    ]);
    expect(rows2.filter((r) => r.scoringJobId === job2.id).map((r) => [r.key, r.etag])).toEqual([
      ['intake/2026-11-25/b.jpg', bNew.etag],
      ['intake/2026-11-26/d.jpg', (await store.head('intake/2026-11-26/d.jpg')).etag],
    ]);
    // The results CSV of the second night lists just those two.
    const csv = (await store.getBuffer(store.keyFromUri(job2.resultsUri!)))
      .toString('utf8')
      .trim()
      .split('\n');
    expect(csv).toHaveLength(3);
  });
});
