/**
 * Jobs benchmark (issue 7): enqueue-to-start latency of training jobs (p50, p95) and the makespan of
 * an 8-trial sweep on 2 worker processes against the ideal (sum of trial times / 2), in one run.
 *
 *   npx tsx bench/jobs/queue-bench.ts            # writes bench/jobs/results/<date>.json
 *
 * Needs PostgreSQL and Redis like the tests; uses a throw-away database.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { createPrismaClient, DatasetsRepository } from '@fundus/db';
import { writeSyntheticDataset } from '@fundus/imaging';
import { JobQueues, redisConnection } from '@fundus/jobs';
import { RunsService, SweepsService } from '@fundus/services';
import { createObjectStore, registerDataset } from '@fundus/storage';

const ROOT = resolve(__dirname, '../..');
const ADMIN = 'postgresql://postgres@127.0.0.1:5432/postgres';
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function main() {
  const dbName = `fundus_bench_${Date.now()}`;
  const admin = new Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const url = ADMIN.replace(/\/postgres$/, `/${dbName}`);
  execFileSync('npx', ['--no-install', 'prisma', 'migrate', 'deploy'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url },
    stdio: 'ignore',
  });
  const prisma = createPrismaClient(url);
  const prefix = `fundus-bench-${Date.now()}`;
  const queues = new JobQueues(redisConnection('redis://127.0.0.1:6379'), prefix);
  const storageRoot = mkdtempSync(join(tmpdir(), 'fundus-bench-'));
  const storageUri = `file://${storageRoot}`;
  await writeSyntheticDataset({
    root: join(storageRoot, 'datasets/bench'),
    size: 96,
    seed: 1,
    counts: {
      train: { normal: 12, disease: 12 },
      val: { normal: 6, disease: 6 },
      test: { normal: 6, disease: 6 },
    },
    severityMix: { moderate: 1, severe: 1 },
  });
  const store = createObjectStore(storageUri);
  const { datasetId } = await registerDataset(store, new DatasetsRepository(prisma), {
    name: 'bench',
    prefix: 'datasets/bench/',
  });
  const workers = [1, 2].map(() =>
    spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'apps/gpu-worker/src/main.ts')], {
      cwd: ROOT,
      stdio: 'ignore',
      env: {
        ...process.env,
        DATABASE_URL: url,
        QUEUE_PREFIX: prefix,
        STORAGE_URI: storageUri,
        MODEL_BACKEND: 'cpu',
        WORKER_QUEUES: 'training,sweeps',
        NIGHTLY_ENABLED: 'false',
        CACHE_DIR: join(storageRoot, 'cache'),
      },
    }),
  );
  const config = {
    model: { architecture: 'tiny-resnet' as const, inputSize: 32, widths: [4, 8, 8] },
    epochs: 1,
    batchSize: 8,
    augment: false,
    backend: 'cpu' as const,
  };
  const waitRun = async (id: string) => {
    for (;;) {
      const r = await prisma.run.findUniqueOrThrow({ where: { id } });
      if (['succeeded', 'failed', 'canceled'].includes(r.status)) return r;
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  try {
    // Warm-up: both workers up and their tfjs initialised.
    const runs = new RunsService(prisma, queues);
    await Promise.all(
      [0, 1].map(async (i) => waitRun((await runs.createRun({ datasetId, seed: i, config })).id)),
    );

    // 1. Enqueue-to-start latency: one job at a time on idle workers; start = the worker's claim (Run.startedAt).
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = Date.now();
      const run = await runs.createRun({ datasetId, seed: 100 + i, config });
      const done = await waitRun(run.id);
      latencies.push(done.startedAt!.getTime() - t);
    }

    // 2. Makespan of an 8-trial sweep on 2 workers vs sum(trial durations) / 2.
    const sweeps = new SweepsService(prisma, queues);
    const t0 = Date.now();
    const sweep = await sweeps.createSweep({
      datasetId,
      space: { alpha: [0.5, 1, 2, 4], gamma: [0, 2] },
      maxParallel: 2,
      baseConfig: config,
    });
    for (;;) {
      const s = await prisma.sweep.findUniqueOrThrow({ where: { id: sweep.id } });
      if (['succeeded', 'failed', 'canceled'].includes(s.status)) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const makespan = (Date.now() - t0) / 1000;
    const trials = await prisma.run.findMany({ where: { sweepId: sweep.id } });
    const busy = trials.reduce((s, r) => s + (r.finishedAt!.getTime() - r.startedAt!.getTime()) / 1000, 0);
    const ideal = busy / 2;
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg() },
      latencyMs: { p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95), samples: latencies.length },
      sweep: {
        trials: trials.length,
        makespanSeconds: makespan,
        sumTrialSeconds: busy,
        idealSeconds: ideal,
        ratioToIdeal: makespan / ideal,
      },
    };
    console.log(JSON.stringify(result, null, 2));
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(
      join(__dirname, 'results', `${result.date.slice(0, 19).replace(/:/g, '-')}.json`),
      JSON.stringify(result, null, 2),
    );
  } finally {
    workers.forEach((w) => w.kill('SIGTERM'));
    await store.close();
    await queues.obliterateAll();
    await queues.close();
    await prisma.$disconnect();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
