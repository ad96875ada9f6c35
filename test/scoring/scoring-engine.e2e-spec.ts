/**
 * The scoring engine against the real PostgreSQL, Redis and s3rver, driven step by step in this
 * process (plan, then each chunk) so retries and races can be staged exactly. The worker-process
 * path is covered by nightly-rescore.e2e-spec.ts.
 */
import { createPrismaClient, ScoringJobsRepository, type ModelVersion, type PrismaClient } from '@fundus/db';
import { JobName, JobQueues, QueueName, redisConnection, UnrecoverableError } from '@fundus/jobs';
import { ScoringService } from '@fundus/services';
import { createObjectStore, type ObjectStore } from '@fundus/storage';
import {
  ScoringEngine,
  resultsKey,
  RESULTS_COLUMNS,
  scoringHandlers,
  type ScoringDeps,
} from '../../apps/gpu-worker/src/scoring';
import { blackJpeg, buildModelVersion, fundusJpeg, truncatedJpeg } from '../support/builders';
import { startS3rver, type S3rverHandle } from '../support/s3rver';

const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };

function parseCsv(text: string): Array<Record<string, string>> {
  const [header, ...lines] = text.trim().split('\n');
  const cols = header.split(',');
  // Keys and messages in these tests hold no commas; ETags are quoted ("…"), so strip the quotes.
  return lines.map((l) => {
    const fields = l
      .match(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)!
      .map((f) => f.replace(/,$/, '').replace(/^"|"$/g, '').replace(/""/g, '"'));
    return Object.fromEntries(cols.map((c, i) => [c, fields[i]]));
  });
}

describe('scoring engine (PostgreSQL, Redis, s3rver)', () => {
  let s3: S3rverHandle;
  let store: ObjectStore;
  let prisma: PrismaClient;
  let queues: JobQueues;
  let engine: ScoringEngine;
  let service: ScoringService;
  let mv: ModelVersion;
  let deps: ScoringDeps;

  beforeAll(async () => {
    s3 = await startS3rver();
    store = createObjectStore(`s3://${s3.bucket}`, {
      s3: { endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: s3.credentials },
    });
    prisma = createPrismaClient(process.env.DATABASE_URL!);
    queues = new JobQueues(
      redisConnection(process.env.REDIS_URL!),
      `${process.env.QUEUE_PREFIX}-scoring-engine`,
    );
    deps = {
      prisma,
      store,
      queues,
      config: {
        INTAKE_PREFIX: 'intake/',
        MODEL_BACKEND: 'cpu',
        NIGHTLY_ENABLED: false,
        NIGHTLY_CRON: '0 2 * * *',
        NIGHTLY_TZ: 'UTC',
      },
      logger: quiet,
      chunkSize: 2,
    };
    engine = new ScoringEngine(deps);
    service = new ScoringService(prisma, queues);
    mv = await buildModelVersion(prisma, store, { inputSize: 32, threshold: 0.5 });
    const good = await Promise.all([1, 2, 3].map((s) => fundusJpeg(s)));
    await store.put('batch/a-good.jpg', good[0]);
    await store.put('batch/b-good.jpg', good[1]);
    await store.put('batch/c-black.jpg', await blackJpeg());
    await store.put('batch/d-truncated.jpg', await truncatedJpeg());
    await store.put('batch/e-good.jpg', good[2]);
    await store.put('batch/.DS_Store', Buffer.from('not an image'));
  });

  afterAll(async () => {
    await queues?.obliterateAll();
    await queues?.close();
    await engine?.cache.close();
    await prisma?.$disconnect();
    await store?.close();
    await s3?.stop();
  });

  /** Plans and then scores every chunk the plan enqueued, as a worker would. */
  async function runJob(scoringJobId: string) {
    const plan = await engine.plan(scoringJobId);
    const outcomes = [];
    for (let chunk = 0; chunk < plan.chunks; chunk++)
      outcomes.push(await engine.scoreChunk(scoringJobId, chunk));
    return {
      plan,
      outcomes,
      job: await prisma.scoringJob.findUniqueOrThrow({ where: { id: scoringJobId } }),
    };
  }

  it('scores a prefix: one row per image, ungradable and unreadable images recorded, counts and CSV', async () => {
    const created = await service.createScoringJob(mv.id, 'batch/');
    expect(created.status).toBe('queued');
    // The service enqueued the planning job under its deterministic id.
    const planJob = await queues.queue(QueueName.Scoring).getJob(`plan-${created.id}`);
    expect(planJob?.name).toBe(JobName.PlanScoring);

    const plan = await engine.plan(created.id);
    expect(plan).toMatchObject({ status: 'running', totalKeys: 5, skipped: 0, chunks: 3 });
    const enqueued = (await queues.queue(QueueName.Scoring).getJobs(['waiting', 'prioritized']))
      .filter((j) => j.name === JobName.ScoreChunk && j.data.scoringJobId === created.id)
      .map((j) => j.data.chunk)
      .sort();
    expect(enqueued).toEqual([0, 1, 2]);

    const outcomes = [];
    for (let chunk = 0; chunk < 3; chunk++) outcomes.push(await engine.scoreChunk(created.id, chunk));
    // The corrupt image is in chunk 1 (d-truncated with c-black) and the chunk still succeeds.
    expect(outcomes.map((o) => o.outcome)).toEqual(['scored', 'scored', 'scored']);
    expect(outcomes[1]).toMatchObject({ ungradable: 1, failed: 1, scored: 0 });
    expect(outcomes.map((o) => o.finishedJob)).toEqual([false, false, true]);

    const job = await prisma.scoringJob.findUniqueOrThrow({ where: { id: created.id } });
    expect(job).toMatchObject({
      status: 'succeeded',
      totalKeys: 5,
      chunks: 3,
      chunksDone: 3,
      scored: 3,
      ungradable: 1,
      failed: 1,
      skipped: 0,
    });
    expect(job.finishedAt).not.toBeNull();
    expect(job.resultsUri).toBe(store.uriFor(resultsKey(created.id)));

    const rows = await prisma.prediction.findMany({
      where: { modelVersionId: mv.id },
      orderBy: { key: 'asc' },
    });
    expect(rows.map((r) => r.key)).toEqual([
      'batch/a-good.jpg',
      'batch/b-good.jpg',
      'batch/c-black.jpg',
      'batch/d-truncated.jpg',
      'batch/e-good.jpg',
    ]);
    const byKey = Object.fromEntries(rows.map((r) => [r.key, r]));
    for (const k of ['batch/a-good.jpg', 'batch/b-good.jpg', 'batch/e-good.jpg']) {
      const r = byKey[k];
      expect(r.probability).toBeGreaterThanOrEqual(0);
      expect(r.probability).toBeLessThanOrEqual(1);
      expect(r.label).toBe(r.probability! >= 0.5 ? 1 : 0);
      expect(r).toMatchObject({ threshold: 0.5, ungradable: false, error: null, scoringJobId: created.id });
    }
    expect(byKey['batch/c-black.jpg']).toMatchObject({
      ungradable: true,
      probability: null,
      label: null,
      error: null,
    });
    expect(byKey['batch/c-black.jpg'].reason).toMatch(/fov-not-found|too-dark/);
    expect(byKey['batch/d-truncated.jpg']).toMatchObject({
      ungradable: false,
      probability: null,
      label: null,
    });
    expect(byKey['batch/d-truncated.jpg'].error).toMatch(/^corrupt: /);
    // Each row carries the ETag the store reports for that object.
    for (const r of rows) expect(r.etag).toBe((await store.head(r.key)).etag);

    const csv = parseCsv((await store.getBuffer(resultsKey(created.id))).toString('utf8'));
    expect(Object.keys(csv[0])).toEqual([...RESULTS_COLUMNS]);
    expect(csv.map((r) => r.key)).toEqual(rows.map((r) => r.key));
    expect(csv.find((r) => r.key === 'batch/c-black.jpg')).toMatchObject({
      ungradable: 'true',
      probability: '',
    });
    expect(Number(csv.find((r) => r.key === 'batch/a-good.jpg')!.probability)).toBeCloseTo(
      byKey['batch/a-good.jpg'].probability!,
      12,
    );
  });

  it('scoring the same prefix again adds no rows and skips every image', async () => {
    const before = await prisma.prediction.count({ where: { modelVersionId: mv.id } });
    const again = await service.createScoringJob(mv.id, 'batch/');
    const { plan, job } = await runJob(again.id);
    expect(plan).toMatchObject({ totalKeys: 5, skipped: 5, chunks: 0 });
    expect(job).toMatchObject({ status: 'succeeded', scored: 0, ungradable: 0, failed: 0, skipped: 5 });
    expect(await prisma.prediction.count({ where: { modelVersionId: mv.id } })).toBe(before);
    // The CSV lists what this job scored: nothing, under the header.
    expect((await store.getBuffer(resultsKey(again.id))).toString('utf8')).toBe(
      `${RESULTS_COLUMNS.join(',')}\n`,
    );
  });

  it('a retried or doubled chunk adds no rows and is counted once', async () => {
    await store.put('retry/x1.jpg', await fundusJpeg(11));
    await store.put('retry/x2.jpg', await fundusJpeg(12));
    await store.put('retry/x3.jpg', await fundusJpeg(13));
    const job = await service.createScoringJob(mv.id, 'retry/');
    const plan = await engine.plan(job.id);
    expect(plan.chunks).toBe(2);
    // Two workers on the same chunk at once (a stalled job picked up again) …
    const [a, b] = await Promise.all([engine.scoreChunk(job.id, 0), engine.scoreChunk(job.id, 0)]);
    expect([a.outcome, b.outcome].sort()).toEqual(['already-done', 'scored']);
    // … and a retry after the commit (the process died before BullMQ recorded completion).
    expect((await engine.scoreChunk(job.id, 0)).outcome).toBe('already-done');
    // A retried planner keeps its plan and leaves committed chunks alone.
    expect(await engine.plan(job.id)).toMatchObject({ chunks: 2, totalKeys: 3 });
    expect(await new ScoringJobsRepository(prisma).doneChunks(job.id)).toEqual([0]);
    await engine.scoreChunk(job.id, 1);
    const done = await prisma.scoringJob.findUniqueOrThrow({ where: { id: job.id } });
    expect(done).toMatchObject({ status: 'succeeded', chunksDone: 2, scored: 3, skipped: 0 });
    expect(await prisma.prediction.count({ where: { key: { startsWith: 'retry/' } } })).toBe(3);
  });

  it('an image replaced after planning is recorded under the ETag of the bytes scored', async () => {
    await store.put('changed/p.jpg', await fundusJpeg(21));
    const job = await service.createScoringJob(mv.id, 'changed/');
    await engine.plan(job.id);
    const replaced = await store.put('changed/p.jpg', await fundusJpeg(22));
    await engine.scoreChunk(job.id, 0);
    const rows = await prisma.prediction.findMany({ where: { key: 'changed/p.jpg' } });
    expect(rows.map((r) => r.etag)).toEqual([replaced.etag]);
    expect(await prisma.scoringJob.findUniqueOrThrow({ where: { id: job.id } })).toMatchObject({
      status: 'succeeded',
      scored: 1,
    });
  });

  it('a canceled job scores nothing more', async () => {
    await store.put('cancel/q1.jpg', await fundusJpeg(31));
    const job = await service.createScoringJob(mv.id, 'cancel/');
    await engine.plan(job.id);
    const r = await service.cancelScoringJob(job.id);
    expect(r).toMatchObject({ canceled: true, job: { status: 'canceled' } });
    expect(await queues.queue(QueueName.Scoring).getJob(`score-${job.id}-0`)).toBeUndefined();
    expect((await engine.scoreChunk(job.id, 0)).outcome).toBe('skipped');
    expect(await prisma.prediction.count({ where: { key: 'cancel/q1.jpg' } })).toBe(0);
    expect((await service.cancelScoringJob(job.id)).canceled).toBe(false);
  });

  it('a job canceled while a chunk scores: the chunk stops and commits nothing', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `cancel-mid/img-${String(i).padStart(2, '0')}.jpg`);
    for (const [i, k] of keys.entries()) await store.put(k, await fundusJpeg(300 + i));
    const big = new ScoringEngine({ ...deps, chunkSize: 20 });
    try {
      const job = await service.createScoringJob(mv.id, 'cancel-mid/');
      await big.plan(job.id);
      let progressCalls = 0;
      const outcome = await big.scoreChunk(job.id, 0, async () => {
        progressCalls += 1;
        if (progressCalls === 1) await service.cancelScoringJob(job.id);
      });
      expect(progressCalls).toBeGreaterThanOrEqual(1);
      expect(outcome).toMatchObject({ outcome: 'skipped', finishedJob: false });
      expect(await prisma.prediction.count({ where: { scoringJobId: job.id } })).toBe(0);
      expect(await prisma.scoringItem.count({ where: { scoringJobId: job.id, done: true } })).toBe(0);
      expect(await prisma.scoringJob.findUniqueOrThrow({ where: { id: job.id } })).toMatchObject({
        status: 'canceled',
        chunksDone: 0,
        scored: 0,
      });
    } finally {
      await big.close();
    }
  });

  it('a model version that cannot be loaded fails the job without retries', async () => {
    const broken = await prisma.modelVersion.create({
      data: {
        runId: mv.runId,
        format: 'onnx',
        uri: store.uriFor('models/none/model.onnx'),
        architecture: 'resnet50',
        inputSize: 224,
        threshold: 0.5,
      },
    });
    await store.put('onnx/i.jpg', await fundusJpeg(41));
    const job = await service.createScoringJob(broken.id, 'onnx/');
    await engine.plan(job.id);
    await expect(engine.scoreChunk(job.id, 0)).rejects.toMatchObject({ code: 'unsupported-model' });
    // Through the handler, with the chunk job the planner enqueued: not retried, job failed.
    const chunkJob = await queues.queue(QueueName.Scoring).getJob(`score-${job.id}-0`);
    const handler = scoringHandlers(deps, engine).find((h) => h.name === JobName.ScoreChunk)!;
    await expect(handler.handle(chunkJob as never)).rejects.toBeInstanceOf(UnrecoverableError);
    const failed = await prisma.scoringJob.findUniqueOrThrow({ where: { id: job.id } });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/unsupported-model: .*format "onnx"/);
  });

  it('refuses a job for a model version that does not exist, and a bad prefix', async () => {
    await expect(
      service.createScoringJob('00000000-0000-4000-8000-000000000000', 'batch/'),
    ).rejects.toMatchObject({ code: 'not-found' });
    await expect(service.createScoringJob(mv.id, '../etc/')).rejects.toMatchObject({ code: 'invalid' });
  });
});
