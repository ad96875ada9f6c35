/**
 * ONNX Runtime scoring against tfjs scoring through the whole engine (s3rver → decode pool →
 * batcher → inference thread → PostgreSQL): the same weights, stored once as tfjs files and once as
 * the ONNX export that training writes (`onnxUri`), give the same stored probabilities to 1e-4 on
 * synthetic fundus images, with the same ungradable and unreadable rows, whichever way the
 * pipeline batches them (chunks scored concurrently share forward passes).
 */
import { randomUUID } from 'node:crypto';
import { createPrismaClient, type ModelVersion, type PrismaClient } from '@fundus/db';
import { JobQueues, redisConnection } from '@fundus/jobs';
import { createModel, exportOnnx, initBackend, saveModel } from '@fundus/model';
import { ScoringService } from '@fundus/services';
import { createObjectStore, type ObjectStore } from '@fundus/storage';
import { ScoringEngine, resultsKey, type ScoringDeps } from '../../apps/gpu-worker/src/scoring';
import { blackJpeg, buildRun, fundusJpeg, truncatedJpeg } from '../support/builders';
import { startS3rver, type S3rverHandle } from '../support/s3rver';
import { randomiseStatistics } from '../../libs/model/src/spec-helpers';

const SIZE = 32;
const quiet = { log: () => undefined, warn: () => undefined, error: () => undefined };

describe('ONNX Runtime vs tfjs scoring engine (PostgreSQL, Redis, s3rver)', () => {
  let s3: S3rverHandle;
  let store: ObjectStore;
  let prisma: PrismaClient;
  let queues: JobQueues;
  let service: ScoringService;
  const engines: ScoringEngine[] = [];
  let tfjsVersion: ModelVersion;
  let onnxVersion: ModelVersion;
  const prefix = `onnx-vs-tfjs-${randomUUID().slice(0, 8)}/`;
  const good = 9;

  function engine(deps: Omit<Partial<ScoringDeps>, 'config'> & { config?: Partial<ScoringDeps['config']> }) {
    const e = new ScoringEngine({
      prisma,
      store,
      queues,
      logger: quiet,
      chunkSize: 4,
      ...deps,
      config: {
        INTAKE_PREFIX: 'intake/',
        MODEL_BACKEND: 'cpu',
        NIGHTLY_ENABLED: false,
        NIGHTLY_CRON: '0 2 * * *',
        NIGHTLY_TZ: 'UTC',
        ...deps.config,
      },
    });
    engines.push(e);
    return e;
  }

  beforeAll(async () => {
    s3 = await startS3rver();
    store = createObjectStore(`s3://${s3.bucket}`, {
      s3: { endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: s3.credentials },
    });
    prisma = createPrismaClient(process.env.DATABASE_URL!);
    queues = new JobQueues(
      redisConnection(process.env.REDIS_URL!),
      `${process.env.QUEUE_PREFIX}-onnx-engine`,
    );
    service = new ScoringService(prisma, queues);

    await initBackend('cpu');
    const model = createModel({ architecture: 'tiny-resnet', inputSize: SIZE, seed: 7, widths: [4, 8, 8] });
    randomiseStatistics(model, 8, 0.3);
    const folder = `models/${randomUUID()}`;
    await saveModel(model, store, folder, { architecture: 'tiny-resnet' });
    await store.put(`${folder}/model.onnx`, exportOnnx(model));
    model.dispose();
    const version = async (onnxUri: string | null) =>
      prisma.modelVersion.create({
        data: {
          runId: (await buildRun(prisma)).id,
          format: 'tfjs-layers',
          uri: store.uriFor(`${folder}/model.json`),
          onnxUri,
          architecture: 'tiny-resnet',
          inputSize: SIZE,
          threshold: 0.5,
        },
      });
    tfjsVersion = await version(null);
    onnxVersion = await version(store.uriFor(`${folder}/model.onnx`));

    for (let i = 0; i < good; i++)
      await store.put(`${prefix}g${i}.jpg`, await fundusJpeg(300 + i, 96, i % 2 === 0));
    await store.put(`${prefix}x-black.jpg`, await blackJpeg());
    await store.put(`${prefix}x-truncated.jpg`, await truncatedJpeg(9));
  });

  afterAll(async () => {
    for (const e of engines) await e.close();
    await queues?.obliterateAll();
    await queues?.close();
    await prisma?.$disconnect();
    await store?.close();
    await s3?.stop();
  });

  /** Plans a job and scores its chunks, all at once when `concurrent`; returns progress reports per chunk. */
  async function score(e: ScoringEngine, mv: ModelVersion, concurrent: boolean) {
    const job = await service.createScoringJob(mv.id, prefix);
    const plan = await e.plan(job.id);
    const progress: number[][] = Array.from({ length: plan.chunks }, () => []);
    const one = (c: number) =>
      e.scoreChunk(job.id, c, async (f) => {
        progress[c].push(f);
      });
    if (concurrent) await Promise.all(progress.map((_, c) => one(c)));
    else for (let c = 0; c < plan.chunks; c++) await one(c);
    return { jobId: job.id, plan, progress };
  }

  it('stores the same probabilities (to 1e-4), ungradable and unreadable rows with either engine', async () => {
    // tfjs, decoding on the main thread, one chunk at a time.
    const tfjsEngine = engine({ config: { SCORING_ENGINE: 'tfjs', SCORING_DECODE_THREADS: 0 } });
    // ONNX Runtime from the stored graph (auto + onnxUri), two decode threads, passes of up to 3
    // images filled from three chunks scored at once.
    const ortEngine = engine({
      batchSize: 3,
      prefetch: 2,
      config: { SCORING_ENGINE: 'auto', SCORING_DECODE_THREADS: 2, SCORING_ORT_PROVIDERS: 'cpu' },
    });
    expect(await ortEngine.cache.use(onnxVersion, async (m) => [m.engine, m.provider])).toEqual([
      'onnx',
      'cpu',
    ]);
    expect(await tfjsEngine.cache.use(tfjsVersion, async (m) => m.engine)).toBe('tfjs');

    const a = await score(tfjsEngine, tfjsVersion, false);
    const b = await score(ortEngine, onnxVersion, true);
    expect(b.plan.chunks).toBe(3);

    for (const id of [a.jobId, b.jobId]) {
      expect(await prisma.scoringJob.findUniqueOrThrow({ where: { id } })).toMatchObject({
        status: 'succeeded',
        chunksDone: 3,
        scored: good,
        ungradable: 1,
        failed: 1,
        skipped: 0,
      });
    }
    // Progress per chunk rises to 1.
    for (const p of b.progress) {
      expect(p.length).toBeGreaterThan(0);
      expect(p[p.length - 1]).toBe(1);
      expect([...p].sort((x, y) => x - y)).toEqual(p);
    }

    const rows = async (mv: ModelVersion) =>
      prisma.prediction.findMany({ where: { modelVersionId: mv.id }, orderBy: { key: 'asc' } });
    const viaTfjs = await rows(tfjsVersion);
    const ort = await rows(onnxVersion);
    expect(ort.map((r) => r.key)).toEqual(viaTfjs.map((r) => r.key));
    expect(ort).toHaveLength(good + 2);
    const probs = viaTfjs.filter((r) => r.probability !== null).map((r) => r.probability!);
    expect(probs).toHaveLength(good);
    // The weights separate the images, so equality below is not a constant output matching itself.
    expect(Math.max(...probs) - Math.min(...probs)).toBeGreaterThan(1e-3);
    for (let i = 0; i < viaTfjs.length; i++) {
      const [t, o] = [viaTfjs[i], ort[i]];
      // Error codes, not libvips' wording: its error buffer is per process, so with decodes running
      // concurrently a message can come back as "Unknown error" (same code, `corrupt`).
      const code = (e: string | null) => e?.split(':')[0] ?? null;
      expect({
        key: o.key,
        etag: o.etag,
        ungradable: o.ungradable,
        reason: o.reason,
        error: code(o.error),
      }).toEqual({
        key: t.key,
        etag: t.etag,
        ungradable: t.ungradable,
        reason: t.reason,
        error: code(t.error),
      });
      if (t.probability === null) expect(o.probability).toBeNull();
      else {
        expect(Math.abs(o.probability! - t.probability)).toBeLessThan(1e-4);
        expect(o.label).toBe(o.probability! >= 0.5 ? 1 : 0);
      }
    }
    expect(ort.find((r) => r.key.endsWith('x-black.jpg'))?.ungradable).toBe(true);
    expect(ort.find((r) => r.key.endsWith('x-truncated.jpg'))?.error).toMatch(/^corrupt: /);
    // The results CSV lists every row once.
    const csv = (await store.getBuffer(resultsKey(b.jobId))).toString('utf8').trim().split('\n');
    expect(csv).toHaveLength(good + 3);

    // Scoring again with the pipelined engine adds nothing.
    const again = await score(ortEngine, onnxVersion, true);
    expect(again.plan).toMatchObject({ totalKeys: good + 2, skipped: good + 2, chunks: 0 });
    expect(await prisma.prediction.count({ where: { modelVersionId: onnxVersion.id } })).toBe(good + 2);
  });
});
