/**
 * The main job: the whole story on this machine, on the embedded defaults (local storage folder,
 * CPU backend). It starts two worker processes, generates a synthetic fundus data set in the seed's
 * layout (reduced size), registers it, runs a 2 × 2 alpha × gamma sweep, promotes the best model,
 * scores an intake folder with a few corrupt and ungradable images, and prints a summary.
 *
 *   npm run demo                 # full demo (a few minutes on 2 cores)
 *   DEMO_SCALE=ci npm run demo   # reduced, same code path (CI)
 *
 * Needs PostgreSQL (DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/fundus_demo, created
 * and migrated if missing) and Redis (REDIS_URL, default redis://127.0.0.1:6379).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { createPrismaClient, DatasetsRepository, type PrismaClient } from '@fundus/db';
import { generateFundus, makeBadFiles, writeSyntheticDataset } from '@fundus/imaging';
import { JobQueues, redisConnection } from '@fundus/jobs';
import { ScoringService, SweepsService } from '@fundus/services';
import { createObjectStore, registerDataset } from '@fundus/storage';

const ROOT = resolve(__dirname, '..');
const SCALE = process.env.DEMO_SCALE === 'ci' ? 'ci' : 'full';
const PLAN =
  SCALE === 'ci'
    ? { train: 24, val: 10, test: 10, imageSize: 128, inputSize: 48, epochs: 2, intake: 6 }
    : { train: 120, val: 40, test: 50, imageSize: 192, inputSize: 64, epochs: 8, intake: 24 };
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/fundus_demo';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const QUEUE_PREFIX = process.env.QUEUE_PREFIX ?? 'fundus-demo';
const DATA_DIR = resolve(ROOT, '.data/demo');
const STORAGE_URI = `file://${join(DATA_DIR, 'storage')}`;
const BACKEND = process.env.MODEL_BACKEND ?? 'wasm';
const tty = process.stdout.isTTY;
const t0 = Date.now();

const log = (msg: string) =>
  process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
const bar = (f: number, width = 24) => {
  const n = Math.round(Math.max(0, Math.min(1, f)) * width);
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}] ${(f * 100).toFixed(0).padStart(3)}%`;
};
const pct = (x: number | null | undefined) =>
  x == null || Number.isNaN(x) ? '  -  ' : `${(x * 100).toFixed(1)}%`;

async function ensureDatabase(): Promise<void> {
  const url = new URL(DATABASE_URL);
  const name = url.pathname.slice(1);
  const admin = new URL(DATABASE_URL);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
  } finally {
    await client.end();
  }
  execFileSync('npx', ['--no-install', 'prisma', 'migrate', 'deploy'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

function startWorker(n: number): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'apps/gpu-worker/src/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL,
      REDIS_URL,
      QUEUE_PREFIX,
      STORAGE_URI,
      MODEL_BACKEND: BACKEND,
      CACHE_DIR: join(DATA_DIR, 'cache'),
      NIGHTLY_ENABLED: 'false',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM' && !stopping)
      log(`worker ${n} exited (${code ?? signal}):\n${err}`);
  });
  return child;
}

let stopping = false;
async function stopWorkers(workers: ChildProcess[]): Promise<void> {
  stopping = true;
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((res) => {
          if (w.exitCode !== null || w.signalCode !== null) return res();
          w.once('exit', () => res());
          w.kill('SIGTERM');
          setTimeout(() => w.kill('SIGKILL'), 20_000).unref();
        }),
    ),
  );
}

async function waitSweep(prisma: PrismaClient, sweepId: string): Promise<void> {
  let last = '';
  for (;;) {
    const sweep = await prisma.sweep.findUniqueOrThrow({
      where: { id: sweepId },
      include: { runs: { orderBy: { trialIndex: 'asc' } } },
    });
    const lines = sweep.runs.map((r) => {
      const loss = r.config as { loss: { alpha: number; gamma: number } };
      return `  trial ${r.trialIndex! + 1}  alpha ${String(loss.loss.alpha).padEnd(4)} gamma ${String(loss.loss.gamma).padEnd(3)} ${bar(r.progress)}  ${r.status}${r.error ? ` (${r.error})` : ''}`;
    });
    const text = lines.join('\n');
    if (text !== last) {
      if (tty && last) process.stdout.write(`\x1b[${lines.length}A`);
      if (tty || sweep.status !== 'running' || lines.some((l, i) => l !== last.split('\n')[i])) {
        process.stdout.write(`${text}\n`);
      }
      last = text;
    }
    if (['succeeded', 'failed', 'canceled'].includes(sweep.status)) {
      if (sweep.status !== 'succeeded') throw new Error(`sweep ${sweep.status}: ${sweep.error ?? ''}`);
      return;
    }
    await new Promise((r) => setTimeout(r, tty ? 500 : 3000));
  }
}

async function main(): Promise<void> {
  log(`fundus-screen demo (${SCALE} scale, backend ${BACKEND}, storage ${STORAGE_URI})`);
  rmSync(DATA_DIR, { recursive: true, force: true });
  mkdirSync(DATA_DIR, { recursive: true });
  await ensureDatabase();
  const prisma = createPrismaClient(DATABASE_URL);
  const queues = new JobQueues(redisConnection(REDIS_URL), QUEUE_PREFIX);
  await Promise.all(
    ['training', 'sweeps', 'scoring', 'schedule', 'system'].map((q) =>
      queues.queue(q as never).obliterate({ force: true }),
    ),
  );
  const workers = [startWorker(1), startWorker(2)];
  const store = createObjectStore(STORAGE_URI);
  try {
    log(
      `generating a synthetic fundus data set (train ${PLAN.train}+${PLAN.train}, val ${PLAN.val}+${PLAN.val}, test ${PLAN.test}+${PLAN.test})`,
    );
    const name = `demo-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}`;
    await writeSyntheticDataset({
      root: join(DATA_DIR, 'storage', 'datasets', name),
      size: PLAN.imageSize,
      seed: 42,
      counts: {
        train: { normal: PLAN.train, disease: PLAN.train },
        val: { normal: PLAN.val, disease: PLAN.val },
        test: { normal: PLAN.test, disease: PLAN.test },
      },
      severityMix: { mild: 1, moderate: 2, severe: 2 },
    });
    const { datasetId, plan } = await registerDataset(store, new DatasetsRepository(prisma), {
      name,
      prefix: `datasets/${name}/`,
      labelMap: { disease: 1, normal: 0 },
    });
    log(
      `registered data set ${name}: ${JSON.stringify(plan.counts)} (labels from the explicit map disease=1, normal=0)`,
    );

    const sweeps = new SweepsService(prisma, queues, { maxTrials: 16 });
    const sweep = await sweeps.createSweep({
      datasetId,
      name: 'demo alpha x gamma',
      space: { alpha: [0.5, 2], gamma: [0, 2] },
      maxParallel: 2,
      seed: 7,
      baseConfig: {
        model: { architecture: 'tiny-resnet', inputSize: PLAN.inputSize },
        epochs: PLAN.epochs,
        batchSize: 16,
        learningRate: 3e-3,
        augment: true,
        thresholdPolicy: { kind: 'sensitivity-at-least', target: 0.95 },
      },
    });
    log(`sweep ${sweep.id}: 4 trials (focal loss, seed form), 2 in parallel on 2 workers`);
    await waitSweep(prisma, sweep.id);

    const done = await prisma.sweep.findUniqueOrThrow({ where: { id: sweep.id } });
    const board = done.leaderboard as {
      runId: string;
      alpha: number;
      gamma: number;
      objective?: number;
      auc?: number;
      status: string;
    }[];
    const best = await prisma.run.findUniqueOrThrow({
      where: { id: done.bestRunId! },
      include: { models: true },
    });
    const scoring = new ScoringService(prisma, queues);
    const { champion } = await scoring.promoteModelVersion(best.models[0].id);
    log(`promoted model version ${champion.version} (run ${best.id.slice(0, 8)}) to champion`);

    // Intake: new images, one changed later, plus corrupt and ungradable files.
    for (let i = 0; i < PLAN.intake; i++) {
      const jpg = await generateFundus({
        seed: 1000 + i,
        size: PLAN.imageSize,
        disease: i % 2 === 0,
        severity: 'moderate',
      });
      await store.put(`intake/2026-11-26/img-${String(i).padStart(3, '0')}.jpg`, jpg, {
        contentType: 'image/jpeg',
      });
    }
    const bad = (await makeBadFiles()).filter((b) =>
      ['truncated-jpeg', 'random-bytes', 'all-black', 'broken-png-crc'].includes(b.name),
    );
    for (const b of bad) await store.put(`intake/2026-11-26/${b.fileName}`, b.bytes);
    const job = await scoring.createScoringJob(champion.id, 'intake/');
    log(
      `scoring intake/ (${PLAN.intake} new images + ${bad.length} corrupt or ungradable files) with the champion`,
    );
    let sj;
    for (;;) {
      sj = await prisma.scoringJob.findUniqueOrThrow({ where: { id: job.id } });
      const f = sj.chunks ? sj.chunksDone / sj.chunks : 0;
      if (tty)
        process.stdout.write(
          `\r  scoring ${bar(f)}  ${sj.scored} scored, ${sj.ungradable} ungradable, ${sj.failed} unreadable`,
        );
      if (['succeeded', 'failed', 'canceled'].includes(sj.status)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    if (tty) process.stdout.write('\n');
    if (sj.status !== 'succeeded') throw new Error(`scoring ${sj.status}: ${sj.error ?? ''}`);

    // Summary.
    const test = best.testMetrics as {
      test: { sensitivity: number; specificity: number; tp: number; fn: number; tn: number; fp: number };
      ci: Record<string, { lower: number; upper: number }>;
      auc: number;
    };
    const lines = [
      '',
      '=== Leaderboard (objective: specificity at sensitivity ≥ 95%, on validation) ===',
      ' rank  alpha  gamma  objective  val AUC  status',
      ...board.map(
        (t, i) =>
          ` ${String(i + 1).padStart(4)}  ${String(t.alpha).padStart(5)}  ${String(t.gamma).padStart(5)}  ${pct(t.objective).padStart(9)}  ${t.auc?.toFixed(3) ?? '  -  '}    ${t.status}`,
      ),
      '',
      `=== Champion: model version ${champion.version}, run ${best.id} ===`,
      `operating point (chosen on validation): threshold ${best.threshold?.toFixed(4)}`,
      `test: sensitivity ${pct(test.test.sensitivity)} (95% CI ${pct(test.ci.sensitivity?.lower)}–${pct(test.ci.sensitivity?.upper)}), ` +
        `specificity ${pct(test.test.specificity)} (95% CI ${pct(test.ci.specificity?.lower)}–${pct(test.ci.specificity?.upper)}), AUC ${test.auc.toFixed(3)}`,
      `test confusion: TP ${test.test.tp}  FN ${test.test.fn}  TN ${test.test.tn}  FP ${test.test.fp}`,
      '',
      `=== Scoring of intake/ ===`,
      `${sj.totalKeys} images: ${sj.scored} scored, ${sj.ungradable} ungradable, ${sj.failed} unreadable, ${sj.skipped} already scored`,
      '',
      '=== Where things are ===',
      `run report:    ${best.reportUri}`,
      `sweep report:  ${done.reportUri}`,
      `model:         ${champion.uri}`,
      `predictions:   ${sj.resultsUri}`,
      `took ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    writeFileSync(
      join(DATA_DIR, 'summary.json'),
      JSON.stringify(
        { sweepId: sweep.id, bestRunId: best.id, scoringJobId: sj.id, leaderboard: board },
        null,
        2,
      ),
    );
  } finally {
    await stopWorkers(workers);
    await store.close();
    await queues.close();
    await prisma.$disconnect();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`demo failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
