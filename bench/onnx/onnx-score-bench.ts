/**
 * Batch scoring on ONNX Runtime end to end (storage → decode → model → PostgreSQL) against ONNX
 * Runtime's model-alone rate and against the tfjs-wasm scoring path, in the same run.
 *
 *   npx tsx bench/onnx/onnx-score-bench.ts [images=64] [arch=resnet18] [size=128] [width=1024]
 *
 * Same set-up as bench/scoring/score-bench.ts (s3rver, throw-away PostgreSQL database, Redis).
 * Keys per chunk: BENCH_CHUNK (default 16).
 * - anchor "ORT model alone": an `onnxruntime-node` CPU session on `exportOnnx(model)`, over the
 *   already-preprocessed tensors, batch 8 (the engine's default), after a warm-up, main thread.
 * - "end to end, ORT": ScoringEngine with SCORING_ENGINE=onnx (the inference thread exports the tfjs
 *   model once when loading it, outside the timed part), pipelined (decode pool of
 *   SCORING_DECODE_THREADS, default cores/4, shared batcher) with 1 and 2 chunks in flight, and with
 *   decoding on the main thread (SCORING_DECODE_THREADS=0, prefetch 4), 2 chunks in flight, and
 *   pipelined with other thread counts (BENCH_VARIANT="ortThreads,decodeThreads", default the
 *   cores split: ORT threads = cores − decode threads).
 * - "tfjs-wasm": model alone (`predictProbabilities`, wasm backend) and end to end with
 *   SCORING_ENGINE=tfjs, MODEL_BACKEND=wasm, 1 chunk at a time — one round each (slow).
 */
import { cpus, loadavg } from 'node:os';
import type { ModelVersion } from '@fundus/db';
import * as ort from 'onnxruntime-node';
import {
  exportOnnx,
  initBackend,
  ONNX_INPUT_NAME,
  predictProbabilities,
  type Architecture,
} from '@fundus/model';
import { ScoringEngine } from '../../apps/gpu-worker/src/scoring';
import { setUpScoringBench, timing, type Timing } from '../support/scoring-bench';

const args = process.argv.slice(2);
const images = Number(args[0] ?? 64);
const arch = (args[1] ?? 'resnet18') as Architecture;
const size = Number(args[2] ?? 128);
const width = Number(args[3] ?? 1024);
const CHUNK = Number(process.env.BENCH_CHUNK ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function main(): Promise<void> {
  const info = await initBackend('wasm');
  const bench = await setUpScoringBench({ images, arch, size, width, versions: 4 * ROUNDS + 2 });
  const { prisma, store, queues, jpegs, model, versions, x, per, decode } = bench;
  try {
    const session = await ort.InferenceSession.create(exportOnnx(model), { executionProviders: ['cpu'] });
    const ortPass = async (): Promise<Timing> => {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (let i = 0; i < images; i += 8) {
        const m = Math.min(8, images - i);
        await session.run({
          [ONNX_INPUT_NAME]: new ort.Tensor('float32', x.subarray(i * per, (i + m) * per), [
            m,
            size,
            size,
            3,
          ]),
        });
      }
      return timing(t0, c0);
    };
    await ortPass(); // warm-up
    await predictProbabilities(model, x.subarray(0, Math.min(images, 8) * per), 8); // warm-up
    const tfjsAlone = async (): Promise<Timing> => {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await predictProbabilities(model, x, 8);
      return timing(t0, c0);
    };

    const logger = {
      log: () => undefined,
      warn: (m: string) => console.warn(m),
      error: (m: string) => console.error(m),
    };
    const makeEngine = (
      engine: 'onnx' | 'tfjs',
      decodeThreads?: number,
      prefetch?: number,
      ortThreads?: number,
    ) =>
      new ScoringEngine({
        prisma,
        store,
        queues,
        config: {
          INTAKE_PREFIX: 'intake/',
          MODEL_BACKEND: 'wasm',
          SCORING_ENGINE: engine,
          NIGHTLY_ENABLED: false,
          NIGHTLY_CRON: '0 2 * * *',
          NIGHTLY_TZ: 'UTC',
          SCORING_ORT_PROVIDERS: 'cpu',
          SCORING_DECODE_THREADS: decodeThreads,
          SCORING_ORT_THREADS: ortThreads,
        },
        logger,
        chunkSize: CHUNK,
        prefetch,
      });
    const engine = makeEngine('onnx');
    // Decoding on the main thread (libuv's pool) with a 4-image prefetch, as before the decode pool.
    const mainEngine = makeEngine('onnx', 0, 4);
    // Variant: ORT intra-op threads and decode threads from BENCH_VARIANT="ortThreads,decodeThreads"
    // (default: cores split, ORT threads = cores − the default decode threads).
    const [vOrt, vDecode] = (
      process.env.BENCH_VARIANT ??
      `${Math.max(1, cpus().length - engine.decoder.threads)},${engine.decoder.threads}`
    )
      .split(',')
      .map(Number);
    const splitEngine = makeEngine('onnx', vDecode, undefined, vOrt);
    const wasmEngine = makeEngine('tfjs');
    const warm = await prisma.scoringJob.create({
      data: { modelVersionId: versions[0].id, prefix: 'none/' },
    });
    await engine.plan(warm.id);
    // Start the decode threads outside the timed part.
    for (const e of [engine, splitEngine])
      await Promise.all(Array.from({ length: e.decoder.threads }, () => e.decoder.prepare(jpegs[0], size)));

    const runJob = async (
      mv: ModelVersion,
      parallel: number,
      eng: ScoringEngine = engine,
    ): Promise<Timing> => {
      // Load the model outside the timed part (a worker keeps its champion loaded).
      await eng.cache.use(mv, async (m) => {
        if (m.engine !== (eng === wasmEngine ? 'tfjs' : 'onnx')) throw new Error(`wrong engine ${m.engine}`);
      });
      const job = await prisma.scoringJob.create({ data: { modelVersionId: mv.id, prefix: 'intake/' } });
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const plan = await eng.plan(job.id);
      let next = 0;
      await Promise.all(
        Array.from({ length: parallel }, async () => {
          while (next < plan.chunks) await eng.scoreChunk(job.id, next++);
        }),
      );
      const s = timing(t0, c0);
      const done = await prisma.scoringJob.findUniqueOrThrow({ where: { id: job.id } });
      if (done.status !== 'succeeded' || done.scored + done.ungradable + done.failed !== images) {
        throw new Error(`bench job did not score everything: ${JSON.stringify(done)}`);
      }
      return s;
    };
    // Rounds alternate anchor and end to end, so load from other processes hits both alike.
    const variants = [
      {
        name: `pipelined (${engine.decoder.threads} decode threads, ORT threads = cores), 1 chunk at a time`,
        eng: engine,
        parallel: 1,
      },
      {
        name: `pipelined (${engine.decoder.threads} decode threads, ORT threads = cores), 2 chunks at a time`,
        eng: engine,
        parallel: 2,
      },
      {
        name: `pipelined (${splitEngine.decoder.threads} decode threads, ORT threads = ${vOrt || 'cores'}), 2 chunks at a time`,
        eng: splitEngine,
        parallel: 2,
      },
      { name: 'decode on the main thread (prefetch 4), 2 chunks at a time', eng: mainEngine, parallel: 2 },
    ].map((v) => ({ ...v, model: [] as Timing[], e2e: [] as Timing[], passes: 0, passImages: 0 }));
    let vi = 0;
    for (let r = 0; r < ROUNDS; r++) {
      for (const v of variants) {
        v.model.push(await ortPass());
        const before = { ...v.eng.passStats };
        v.e2e.push(await runJob(versions[vi++], v.parallel, v.eng));
        v.passes += v.eng.passStats.passes - before.passes;
        v.passImages += v.eng.passStats.images - before.images;
      }
    }
    const wasmAloneT = await tfjsAlone();
    const wasmE2eT = await runJob(versions[vi], 1, wasmEngine);
    await session.release();
    model.dispose();
    const median = (v: Timing[]) => [...v].sort((a, b) => a.s - b.s)[Math.floor(v.length / 2)];
    const modelT = median(variants.flatMap((v) => v.model));
    const decodeT: Timing = decode;

    const rate = (t: Timing) => images / t.s;
    const rows: Array<[string, Timing]> = [
      [`ORT model alone (anchor), median of ${variants.length * ROUNDS}`, modelT],
      ['decode alone (main thread, one image at a time)', decodeT],
      ...variants.map((v): [string, Timing] => [
        `end to end ORT, ${v.name}, median of ${ROUNDS}`,
        median(v.e2e),
      ]),
      ['tfjs-wasm model alone, 1 pass', wasmAloneT],
      ['end to end tfjs-wasm, 1 chunk at a time, 1 pass', wasmE2eT],
    ];
    const ratios = (e: Timing[], m: Timing[]) =>
      e.map((t, i) => `${((m[i].s / t.s) * 100).toFixed(0)}%`).join(', ');
    console.log(`date: ${new Date().toISOString()}`);
    console.log(
      `load average (1, 5, 15 min) at the end: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(', ')}`,
    );
    console.log(
      `per round, end to end vs the anchor measured just before it: ${variants.map((v) => `${v.name}: ${ratios(v.e2e, v.model)}`).join('; ')}`,
    );
    console.log(
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, tfjs backend ${info.backend}, onnxruntime-node ${ort.env.versions.node ?? '?'}`,
    );
    console.log(
      `images: ${images} synthetic JPEGs ${width}×${Math.round((width * 3) / 4)}, model ${arch} at ${size} px, batch 8, chunk ${CHUNK}`,
    );
    console.log(
      'CPU ms/image: user + system time of this whole process (all threads, s3rver included; PostgreSQL not) per image',
    );
    console.log('| path | seconds | img/s | vs model alone | CPU ms/image |');
    console.log('|---|---|---|---|---|');
    console.log(
      `mean images per forward pass: ${variants.map((v) => `${v.name}: ${(v.passImages / Math.max(1, v.passes)).toFixed(1)}`).join('; ')}`,
    );
    for (const [name, t] of rows) {
      console.log(
        `| ${name} | ${t.s.toFixed(2)} | ${rate(t).toFixed(1)} | ${((rate(t) / rate(modelT)) * 100).toFixed(0)}% | ${((t.cpu / images) * 1000).toFixed(1)} |`,
      );
    }
    await engine.close();
    await mainEngine.close();
    await splitEngine.close();
    await wasmEngine.close();
  } finally {
    await bench.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
