/**
 * Model benchmark: inference and training images/s per tfjs backend and input size, against an anchor
 * measured in the same run — ONNX Runtime (onnxruntime-node, CPU provider) inference of a ResNet50
 * graph of the same shape (bench/model/onnx-resnet50.ts, random weights).
 *
 *   npx tsx bench/model/model-bench.ts [--backends wasm,webgpu] [--sizes 64,128,224] [--quick]
 *
 * Prints one Markdown table and a JSON line. Timings exclude the first (warm-up) batch.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import {
  createModel,
  initBackend,
  probeWebGpu,
  trainModel,
  type Architecture,
  type ResolvedBackend,
} from '../../libs/model/src';
import { Rng } from '../../libs/model/src/rng';
import { buildResNet50Onnx } from './onnx-resnet50';

interface Row {
  what: 'inference' | 'training';
  engine: string;
  model: Architecture;
  size: number;
  batch: number;
  imgPerSec: number;
  msPerImg: number;
  anchor?: string;
  ratio?: number;
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}
const quick = process.argv.includes('--quick');
const sizes = arg('sizes', quick ? '64' : '64,128,224')
  .split(',')
  .map(Number);
const backends = arg('backends', 'wasm,webgpu').split(',') as ResolvedBackend[];

function images(n: number, s: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * s * s * 3 }, () => rng.normal());
}

function row(r: Omit<Row, 'msPerImg'>): Row {
  return { ...r, msPerImg: 1000 / r.imgPerSec };
}

async function ortInference(size: number, batch: number, threads: number, iters: number): Promise<Row> {
  const session = await ort.InferenceSession.create(buildResNet50Onnx(size), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionProviders: ['cpu'],
  });
  const x = new ort.Tensor('float32', images(batch, size, 1), [batch, 3, size, size]);
  await session.run({ input: x });
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) await session.run({ input: x });
  const sec = (performance.now() - t0) / 1000;
  await session.release();
  return row({
    what: 'inference',
    engine: `onnxruntime-node CPU ${threads} thread${threads > 1 ? 's' : ''}`,
    model: 'resnet50',
    size,
    batch,
    imgPerSec: (batch * iters) / sec,
  });
}

async function tfjsInference(
  engine: string,
  arch: Architecture,
  size: number,
  batch: number,
  iters: number,
): Promise<Row> {
  const model = createModel({ architecture: arch, inputSize: size, seed: 1 });
  const x = tf.tensor4d(images(batch, size, 1), [batch, size, size, 3]);
  const run = async (): Promise<void> => {
    const y = model.predict(x) as tf.Tensor;
    await y.data();
    y.dispose();
  };
  await run();
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) await run();
  const sec = (performance.now() - t0) / 1000;
  x.dispose();
  model.dispose();
  return row({ what: 'inference', engine, model: arch, size, batch, imgPerSec: (batch * iters) / sec });
}

/** Times trainModel itself (own loop, focal loss, Adam) over `steps` batches after one warm-up batch. */
async function tfjsTraining(
  engine: string,
  arch: Architecture,
  size: number,
  batch: number,
  steps: number,
): Promise<Row> {
  const model = createModel({ architecture: arch, inputSize: size, seed: 1 });
  const n = batch * (steps + 1);
  const x = images(batch, size, 2);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
  const data = {
    size: n,
    labels,
    batch: (idx: number[]) => ({
      x: x.slice(0, idx.length * size * size * 3),
      y: Int32Array.from(idx, (i) => labels[i]),
    }),
  };
  let t0 = 0;
  let t1 = 0;
  await trainModel({
    model,
    train: data,
    config: {
      loss: { kind: 'focal-seed', alpha: 2, gamma: 2 },
      optimizer: { kind: 'adam' },
      learningRate: 1e-4,
      epochs: 1,
      batchSize: batch,
      seed: 1,
    },
    callbacks: {
      onBatchEnd: (b) => {
        if (b.batch === 0) t0 = performance.now();
        t1 = performance.now();
      },
    },
  });
  model.dispose();
  return row({
    what: 'training',
    engine,
    model: arch,
    size,
    batch,
    imgPerSec: (batch * steps) / ((t1 - t0) / 1000),
  });
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const log = (r: Row): void => {
    rows.push(r);
    console.error(
      `${r.what} ${r.engine} ${r.model} ${r.size}px b${r.batch}: ${r.imgPerSec.toFixed(2)} img/s`,
    );
  };
  const iters = quick ? 2 : 3;

  // The anchor (ORT, 1 thread: tfjs wasm runs one thread under Node) is measured right before and
  // right after each tfjs inference measurement and averaged, so machine load shifts both alike.
  const anchorAround = async (size: number, measure: () => Promise<Row>): Promise<void> => {
    const before = await ortInference(size, 4, 1, iters);
    const r = await measure();
    const after = await ortInference(size, 4, 1, iters);
    const anchor = row({ ...before, imgPerSec: (before.imgPerSec + after.imgPerSec) / 2 });
    log(anchor);
    log({ ...r, anchor: anchor.engine, ratio: r.imgPerSec / anchor.imgPerSec });
  };
  const loadBefore = os.loadavg()[0];
  for (const s of sizes) log(await ortInference(s, 4, 2, iters));

  for (const b of backends) {
    let engine: string = `tfjs ${b}`;
    if (b === 'webgpu') {
      const probe = await probeWebGpu();
      if (!probe) {
        console.error('webgpu: no adapter, skipped');
        continue;
      }
      engine = `tfjs webgpu (${probe.software ? 'lavapipe, CPU' : probe.description})`;
    }
    await initBackend(b);
    // Software WebGPU (lavapipe) is orders of magnitude slower: measure the smallest size only.
    const soft = b === 'webgpu' && engine.includes('lavapipe');
    for (const s of soft ? sizes.slice(0, 1) : sizes) {
      await anchorAround(s, () => tfjsInference(engine, 'resnet50', s, 4, soft ? 1 : iters));
    }
    // Training rows get the same interleaved anchor (ORT inference at the training size): the
    // ratio "training img/s ÷ ORT inference img/s" survives machine load; ~0.33 would be parity.
    await anchorAround(64, () =>
      tfjsTraining(engine, 'resnet50', 64, soft ? 2 : 8, soft ? 1 : quick ? 2 : 3),
    );
    if (!soft && !quick) await anchorAround(64, () => tfjsTraining(engine, 'resnet50', 64, 16, 2));
    if (!soft && !quick && sizes.includes(128))
      await anchorAround(128, () => tfjsTraining(engine, 'resnet50', 128, 4, 2));
    log(await tfjsTraining(engine, 'tiny-resnet', 64, 16, soft ? 2 : 8));
  }

  const cpu = os.cpus();
  console.log(
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; ` +
      `${new Date().toISOString()}; 1-min load average ${loadBefore.toFixed(1)} at start, ${os.loadavg()[0].toFixed(1)} at end\n`,
  );
  console.log('| what | engine | model | px | batch | img/s | ms/img | vs anchor (same run) |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const ratio = r.ratio !== undefined ? `${r.ratio.toFixed(2)}× ${r.anchor}` : '';
    console.log(
      `| ${r.what} | ${r.engine} | ${r.model} | ${r.size} | ${r.batch} | ${r.imgPerSec.toFixed(2)} | ${r.msPerImg.toFixed(1)} | ${ratio} |`,
    );
  }
  console.log(`\n${JSON.stringify(rows)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
