/**
 * The main job: the whole story on this machine, on the embedded defaults (local storage folder,
 * CPU backend). It starts the API and two worker processes, generates a synthetic fundus data set in
 * the seed's layout (reduced size), and then works as a researcher would, through the HTTP API:
 * registers the data set, runs a 2 × 2 alpha × gamma sweep, promotes the best model, scores an intake
 * folder with a few corrupt and ungradable images, and prints a summary.
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
import { randomBytes } from 'node:crypto';
import { generateFundus, makeBadFiles, writeSyntheticDataset } from '@fundus/imaging';
import { JobQueues, redisConnection } from '@fundus/jobs';
import { createObjectStore } from '@fundus/storage';
import { ApiClient } from '../apps/cli/src/client';

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

const ADMIN_KEY = `fk_demo_${randomBytes(18).toString('hex')}`;

function startProcess(name: string, entry: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, entry)], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL, REDIS_URL, QUEUE_PREFIX, STORAGE_URI, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM' && !stopping) log(`${name} exited (${code ?? signal}):\n${out}`);
  });
  return child;
}

const startWorker = (n: number) =>
  startProcess(`worker ${n}`, 'apps/gpu-worker/src/main.ts', {
    MODEL_BACKEND: BACKEND,
    CACHE_DIR: join(DATA_DIR, 'cache'),
    NIGHTLY_ENABLED: 'false',
  });

/** The API on a free port (API_PORT=0) with a bootstrap admin key; resolves its URL once it listens. */
async function startApi(): Promise<{ child: ChildProcess; url: string }> {
  const child = startProcess('api', 'apps/api/src/main.ts', {
    API_PORT: '0',
    API_HOST: '127.0.0.1',
    BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
    LOG_LEVEL: 'info',
  });
  const url = await new Promise<string>((res, rej) => {
    let seen = '';
    const timer = setTimeout(() => rej(new Error(`the API did not start:\n${seen}`)), 120_000);
    child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      const m = seen.match(/listening on [\d.]+:(\d+)/);
      if (m) {
        clearTimeout(timer);
        res(`http://127.0.0.1:${m[1]}`);
      }
    });
    child.on('exit', () => rej(new Error(`the API exited:\n${seen}`)));
  });
  return { child, url };
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

interface Trial {
  trialIndex: number | null;
  config: unknown;
  progress: number;
  status: string;
  error: string | null;
}

async function waitSweep(api: ApiClient, sweepId: string): Promise<void> {
  let last = '';
  for (;;) {
    const sweep = await api.get<{ status: string; error: string | null; trials: Trial[] }>(
      `/sweeps/${sweepId}`,
    );
    const lines = sweep.trials.map((r) => {
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
  const queues = new JobQueues(redisConnection(REDIS_URL), QUEUE_PREFIX);
  await Promise.all(
    ['training', 'sweeps', 'scoring', 'schedule', 'system'].map((q) =>
      queues.queue(q as never).obliterate({ force: true }),
    ),
  );
  await queues.close();
  const processes = [startWorker(1), startWorker(2)];
  const store = createObjectStore(STORAGE_URI);
  try {
    const started = await startApi();
    processes.push(started.child);
    const api = new ApiClient(started.url, ADMIN_KEY);
    log(`API at ${started.url} (docs at ${started.url}/docs); two workers on the ${BACKEND} backend`);
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
    const dataset = await api.post<{ id: string; counts: unknown }>('/datasets', {
      name,
      prefix: `datasets/${name}/`,
      labelMap: { disease: 1, normal: 0 },
    });
    log(
      `registered data set ${name}: ${JSON.stringify(dataset.counts)} (labels from the explicit map disease=1, normal=0)`,
    );

    const sweep = await api.post<{ id: string }>('/sweeps', {
      datasetId: dataset.id,
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
    await waitSweep(api, sweep.id);

    const done = await api.get<{ leaderboard: unknown; bestRunId: string; reportUri: string }>(
      `/sweeps/${sweep.id}`,
    );
    const board = done.leaderboard as {
      runId: string;
      alpha: number;
      gamma: number;
      objective?: number;
      auc?: number;
      status: string;
    }[];
    const best = await api.get<{
      id: string;
      threshold: number | null;
      reportUri: string;
      testMetrics: unknown;
      models: { id: string }[];
    }>(`/runs/${done.bestRunId}`);
    const { champion } = await api.post<{ champion: { id: string; version: number; uri: string } }>(
      `/models/${best.models[0].id}/promote`,
    );
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
    const job = await api.post<{ id: string }>('/scoring-jobs', {
      modelVersionId: champion.id,
      prefix: 'intake/',
    });
    log(
      `scoring intake/ (${PLAN.intake} new images + ${bad.length} corrupt or ungradable files) with the champion`,
    );
    interface ScoringJobView {
      id: string;
      status: string;
      error: string | null;
      chunks: number;
      chunksDone: number;
      totalKeys: number;
      scored: number;
      ungradable: number;
      failed: number;
      skipped: number;
      resultsUri: string | null;
    }
    let sj: ScoringJobView;
    for (;;) {
      sj = await api.get<ScoringJobView>(`/scoring-jobs/${job.id}`);
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
    await stopWorkers(processes);
    await store.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`demo failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
