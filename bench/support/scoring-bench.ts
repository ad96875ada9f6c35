/**
 * Shared set-up of the scoring benchmarks (bench/scoring, bench/onnx): a throw-away PostgreSQL
 * database (created and migrated, dropped at the end), an in-process s3rver holding synthetic
 * fundus JPEGs under `intake/`, a fresh Redis key prefix, an untrained model saved to the store
 * with one model version per end-to-end pass (so no pass finds predictions to skip), and the
 * preprocessed tensors of the same images for the model-alone anchors ("decode alone" timed).
 * Initialise the tfjs backend before calling it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type * as tf from '@tensorflow/tfjs';
import { createPrismaClient, type ModelVersion, type PrismaClient } from '@fundus/db';
import { generateFundus, preprocess } from '@fundus/imaging';
import { JobQueues, redisConnection } from '@fundus/jobs';
import { createModel, saveModel, type Architecture } from '@fundus/model';
import { S3ObjectStore } from '@fundus/storage';
import { startS3rver } from '../../test/support/s3rver';
import { adminUrl, withDatabase } from '../../test/setup/db-urls';

/** Wall-clock seconds and CPU seconds (user + system, every thread of this process). */
export interface Timing {
  s: number;
  cpu: number;
}

/** Time since `t0` (performance.now()) and CPU since `c0` (process.cpuUsage()). */
export function timing(t0: number, c0: NodeJS.CpuUsage): Timing {
  const c = process.cpuUsage(c0);
  return { s: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
}

export interface ScoringBenchOptions {
  images: number;
  arch: Architecture;
  /** Model input size in pixels. */
  size: number;
  /** JPEG width in pixels (height = 3/4 of it). */
  width: number;
  /** Model versions to create (one per end-to-end pass). */
  versions: number;
}

export interface ScoringBench {
  prisma: PrismaClient;
  store: S3ObjectStore;
  queues: JobQueues;
  jpegs: Buffer[];
  model: tf.LayersModel;
  versions: ModelVersion[];
  /** Preprocessed tensors of every image, back to back (NHWC, `per` floats each). */
  x: Float32Array;
  per: number;
  /** libs/imaging `preprocess` of every JPEG from memory, one at a time. */
  decode: Timing;
  /** Empties the Redis prefix and drops the database; closes everything. */
  close(): Promise<void>;
}

async function withAdmin<T>(f: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: adminUrl() });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

export async function setUpScoringBench(o: ScoringBenchOptions): Promise<ScoringBench> {
  const dbName = `fundus_bench_${Date.now()}_${randomBytes(3).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE "${dbName}"`));
  const url = withDatabase(dbName);
  execFileSync('npx', ['--no-install', 'prisma', 'migrate', 'deploy'], {
    env: { ...process.env, DATABASE_URL: url },
    stdio: 'ignore',
  });
  const prisma = createPrismaClient(url);
  const s3 = await startS3rver({ bucket: 'bench' });
  const store = new S3ObjectStore('bench', '', {
    endpoint: s3.endpoint,
    credentials: s3.credentials,
    region: s3.region,
  });
  const queues = new JobQueues(
    redisConnection(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'),
    `fundus-bench-${dbName.slice(-6)}`,
  );
  const close = async () => {
    await queues.obliterateAll().catch(() => undefined);
    await queues.close();
    await prisma.$disconnect();
    await store.close();
    await s3.stop();
    await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`));
  };
  try {
    const jpegs: Buffer[] = [];
    for (let i = 0; i < o.images; i++) {
      jpegs.push(
        await generateFundus({
          seed: 5000 + i,
          size: o.width,
          height: Math.round((o.width * 3) / 4),
          disease: i % 2 === 0,
        }),
      );
    }
    await s3.seed(
      'bench',
      jpegs.map((body, i) => ({ key: `intake/img-${String(i).padStart(5, '0')}.jpg`, body })),
    );
    const model = createModel({ architecture: o.arch, inputSize: o.size, seed: 1 });
    await saveModel(model, store, 'models/bench');
    const ds = await prisma.dataset.create({
      data: {
        name: 'bench',
        storagePrefix: 'x/',
        labelMap: { disease: 1, normal: 0 },
        digest: 'x',
        counts: {},
      },
    });
    const versions: ModelVersion[] = [];
    for (let i = 0; i < o.versions; i++) {
      const run = await prisma.run.create({ data: { datasetId: ds.id, seed: 1 + i, config: {} } });
      versions.push(
        await prisma.modelVersion.create({
          data: {
            runId: run.id,
            format: 'tfjs-layers',
            uri: store.uriFor('models/bench'),
            architecture: o.arch,
            inputSize: o.size,
            threshold: 0.5,
          },
        }),
      );
    }
    const t = performance.now();
    const c = process.cpuUsage();
    const tensors: Float32Array[] = [];
    for (const j of jpegs) tensors.push((await preprocess(j, { size: o.size })).data);
    const decode = timing(t, c);
    const per = o.size * o.size * 3;
    const x = new Float32Array(o.images * per);
    tensors.forEach((d, i) => x.set(d, i * per));
    return { prisma, store, queues, jpegs, model, versions, x, per, decode, close };
  } catch (err) {
    await close();
    throw err;
  }
}
