/**
 * Batch scoring end to end (storage → decode → model → PostgreSQL) against the model alone, in the
 * same run.
 *
 *   npx tsx bench/scoring/score-bench.ts [images=64] [arch=resnet18] [size=128] [width=1024] [backend=wasm]
 *
 * Synthetic fundus JPEGs (width × 3/4 width) are seeded into an S3 store (s3rver, through the same
 * S3ObjectStore the workers use); a throw-away PostgreSQL database is created and migrated; Redis
 * carries the chunk jobs (a fresh key prefix, removed afterwards). Untrained weights: the cost of a
 * forward pass does not depend on them.
 *
 * - anchor "model alone": `predictProbabilities` over the already-preprocessed tensors of the same
 *   images, batch 8 (the engine's default), after a warm-up pass.
 * - "decode alone": libs/imaging `preprocess` of the same JPEG bytes from memory, one at a time.
 * - "end to end, 1 chunk at a time": ScoringEngine.plan, then every chunk in turn (as one worker with
 *   WORKER_SCORING_CONCURRENCY=1): list, fetch, decode, quality gate, infer, upsert, CSV.
 * - "end to end, 2 chunks at a time": the same with two chunks in flight (the default concurrency 2),
 *   for a second model version so nothing is skipped.
 */
import { cpus, loadavg } from 'node:os';
import type { ModelVersion } from '@fundus/db';
import { initBackend, predictProbabilities, type Architecture, type BackendName } from '@fundus/model';
import { ScoringEngine } from '../../apps/gpu-worker/src/scoring';
import { setUpScoringBench } from '../support/scoring-bench';

const args = process.argv.slice(2);
const images = Number(args[0] ?? 64);
const arch = (args[1] ?? 'resnet18') as Architecture;
const size = Number(args[2] ?? 128);
const width = Number(args[3] ?? 1024);
const backend = (args[4] ?? 'wasm') as BackendName;
const CHUNK = 16;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function main(): Promise<void> {
  const info = await initBackend(backend);
  const bench = await setUpScoringBench({ images, arch, size, width, versions: 2 * ROUNDS });
  const { prisma, store, queues, model, versions, x, per } = bench;
  const decodeS = bench.decode.s;
  try {
    await predictProbabilities(model, x.subarray(0, Math.min(images, 8) * per), 8); // warm-up
    const modelAlone = async () => {
      const t0 = performance.now();
      await predictProbabilities(model, x, 8);
      return (performance.now() - t0) / 1000;
    };

    const logger = {
      log: () => undefined,
      warn: (m: string) => console.warn(m),
      error: (m: string) => console.error(m),
    };
    const engine = new ScoringEngine({
      prisma,
      store,
      queues,
      config: {
        INTAKE_PREFIX: 'intake/',
        MODEL_BACKEND: backend,
        NIGHTLY_ENABLED: false,
        NIGHTLY_CRON: '0 2 * * *',
        NIGHTLY_TZ: 'UTC',
      },
      logger,
      chunkSize: CHUNK,
    });
    const warm = await prisma.scoringJob.create({
      data: { modelVersionId: versions[0].id, prefix: 'none/' },
    });
    await engine.plan(warm.id);

    const runJob = async (mv: ModelVersion, parallel: number) => {
      // Load the model outside the timed part (a worker keeps its champion loaded).
      await engine.cache.use(mv, async () => undefined);
      const job = await prisma.scoringJob.create({ data: { modelVersionId: mv.id, prefix: 'intake/' } });
      const t0 = performance.now();
      const plan = await engine.plan(job.id);
      let next = 0;
      await Promise.all(
        Array.from({ length: parallel }, async () => {
          while (next < plan.chunks) await engine.scoreChunk(job.id, next++);
        }),
      );
      const s = (performance.now() - t0) / 1000;
      const done = await prisma.scoringJob.findUniqueOrThrow({ where: { id: job.id } });
      if (done.status !== 'succeeded' || done.scored + done.ungradable + done.failed !== images) {
        throw new Error(`bench job did not score everything: ${JSON.stringify(done)}`);
      }
      return s;
    };
    // Rounds alternate anchor and end to end, so load from other processes hits both alike.
    const model1: number[] = [];
    const e2e1: number[] = [];
    const model2: number[] = [];
    const e2e2: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      model1.push(await modelAlone());
      e2e1.push(await runJob(versions[2 * r], 1));
      model2.push(await modelAlone());
      e2e2.push(await runJob(versions[2 * r + 1], 2));
    }
    model.dispose();
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
    const modelS = median([...model1, ...model2]);

    const rate = (s: number) => images / s;
    const rows = [
      ['model alone (anchor), median of ' + 2 * ROUNDS, modelS],
      ['decode alone', decodeS],
      ['end to end, 1 chunk at a time, median of ' + ROUNDS, median(e2e1)],
      ['end to end, 2 chunks at a time, median of ' + ROUNDS, median(e2e2)],
    ] as const;
    const ratios = (e: number[], m: number[]) =>
      e.map((s, i) => `${((m[i] / s) * 100).toFixed(0)}%`).join(', ');
    console.log(`date: ${new Date().toISOString()}`);
    console.log(
      `load average (1, 5, 15 min) at the end: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(', ')}`,
    );
    console.log(
      `per round, end to end vs the anchor measured just before it: 1 chunk ${ratios(e2e1, model1)}; 2 chunks ${ratios(e2e2, model2)}`,
    );
    console.log(
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, backend ${info.backend}`,
    );
    console.log(
      `images: ${images} synthetic JPEGs ${width}×${Math.round((width * 3) / 4)}, model ${arch} at ${size} px, batch 8, chunk ${CHUNK}`,
    );
    console.log('| path | seconds | img/s | vs model alone |');
    console.log('|---|---|---|---|');
    for (const [name, s] of rows) {
      console.log(
        `| ${name} | ${s.toFixed(2)} | ${rate(s).toFixed(1)} | ${((rate(s) / rate(modelS)) * 100).toFixed(0)}% |`,
      );
    }
    await engine.cache.close();
  } finally {
    await bench.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
