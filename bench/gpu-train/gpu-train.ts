/**
 * WebGPU (Dawn) training benchmark: ResNet50 training and inference images/s, GPU programs per
 * training step, and the top tfjs kernels by GPU time (tf.profile with timestamp queries), on
 * whichever adapter Dawn finds (a GPU through Vulkan, or Mesa's lavapipe on CPU).
 *
 *   npx tsx bench/gpu-train/gpu-train.ts [--size 224] [--batches 8,32] [--steps 5] [--iters 10]
 *   npx tsx bench/gpu-train/gpu-train.ts --small      # lavapipe-sized: 32 px, batch 2, 1 step
 *   Default: trainModel's webgpu fast path (WebGpuFastPath: one optimizer program, fused batch norm
 *   + ReLU, one moving-average program). Baselines: --portable (the project's Optimizer and stock
 *   tfjs-layers batch norm, with our registered kernels); --stock (tfjs' own kernels, portable step).
 *   Older variants: --fused-adam (FusedAdam, 3 programs per variable), --fused-bn (batchNormTraining
 *   patched into tfjs-layers). --arch resnet18|tiny-resnet for a quick smoke test.
 *   --conv-gemm: every FusedConv2D and input gradient through our implicit GEMM (conv-forward.ts,
 *   mode 'all'; default 'auto'). --previous: tfjs' forward programs and its tiled input-gradient
 *   program everywhere (the fast path's convolutions before 2026-11-26's H200 layer profile).
 *   --layer-profile: instead, per-call GPU time of every convolution kernel in a training step and an
 *   inference batch for each program choice (layer-profile.ts), at the last batch size.
 *   --train-model [--batches-per-epoch 16]: instead, `trainModel` itself (one epoch, Adam, focal
 *   loss, an in-memory data source that returns a prepared batch) timed between its onBatchEnd
 *   callbacks, at the last batch size: the whole loop, not only the step.
 *   --no-infer: training only. --tf-flag NAME=VALUE (repeatable): a tfjs environment flag, e.g.
 *   WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=64 (programs encoded before each queue submit; tfjs: 15).
 *   --conv-kernels [--reps 10]: instead, each convolution kernel's time per ResNet50 layer shape at
 *   the last batch size (conv-kernels.ts): forward, input gradient (naive / tiled), filter gradient
 *   (stock / ours).
 *
 * Prints lines and, with --json FILE, writes the results as JSON. For a GPU machine without Node,
 * see pack.sh and run-on-gpu.sh beside this file.
 */
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createModel } from '../../libs/model/src/architectures';
import { compileInference, type InferenceGraph } from '../../libs/model/src/inference';
import { registerFastBatchNormGradient } from '../../libs/model/src/batchnorm-grad';
import { Rng } from '../../libs/model/src/rng';
import { trainModel, type DataSource } from '../../libs/model/src/train';
import { convKernelBench } from './conv-kernels';
import { layerProfile } from './layer-profile';
import {
  countKernels,
  forceConvInputGradProgram,
  makeTrainingStep,
  patchLayersBatchNorm,
  registerWebGpuTrainingKernels,
  startReadback,
  submitWebGpuWork,
  useWebGpuConvGemm,
} from '../../libs/model/src/webgpu';
import { arg } from '../support/args';

const small = process.argv.includes('--small');
const size = Number(arg('size') ?? (small ? 32 : 224));
const batches = (arg('batches') ?? (small ? '2' : '8,32')).split(',').map(Number);
const steps = Number(arg('steps') ?? (small ? 1 : 5));
const iters = Number(arg('iters') ?? (small ? 1 : 10));
const jsonOut = arg('json');
const stock = process.argv.includes('--stock'); // baseline: stock tfjs kernels
const fusedAdam = process.argv.includes('--fused-adam'); // FusedAdam instead of Optimizer
const fusedBn = process.argv.includes('--fused-bn'); // batchNormTraining inside tfjs-layers' BN
const portable = stock || fusedAdam || fusedBn || process.argv.includes('--portable');
const path_ = portable ? (stock ? 'stock' : fusedAdam || fusedBn ? 'portable+fused' : 'portable') : 'fast';
const architecture = (arg('arch') ?? 'resnet50') as 'resnet50' | 'resnet18' | 'tiny-resnet';
// Per-kernel convolution timings instead of the step (conv-kernels.ts): --conv-kernels [--reps 10].
const convKernels = process.argv.includes('--conv-kernels');
// Our implicit-GEMM forward convolution (conv-forward.ts, off by default) for the whole run.
const convGemm = process.argv.includes('--conv-gemm');
const previousConvs = process.argv.includes('--previous');
const noInfer = process.argv.includes('--no-infer');
const tfFlags = process.argv.flatMap((a, i) => (process.argv[i - 1] === '--tf-flag' ? [a] : []));

const results: Record<string, unknown> = {
  size,
  batches,
  steps,
  iters,
  stock,
  convGemm,
  previousConvs,
  tfFlags,
  architecture,
  path: path_,
  date: new Date().toISOString(),
};
function report(key: string, value: unknown, line: string): void {
  results[key] = value;
  console.log(line);
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(results, null, 2));
}

/** Installs Dawn as navigator.gpu with timestamp queries allowed, then the tfjs webgpu backend. */
async function initWebGpu(): Promise<string> {
  const root = path.dirname(require.resolve('webgpu/package.json'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dawn = require(path.join(root, 'dist', `${process.platform}-${process.arch}`, 'dawn.node')) as {
    create(flags: string[]): { requestAdapter(): Promise<{ info?: Record<string, string> } | null> };
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(['enable-dawn-features=allow_unsafe_apis']);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('Dawn found no adapter');
  const i = adapter.info ?? {};
  await import('@tensorflow/tfjs-backend-webgpu');
  registerFastBatchNormGradient();
  if (!stock) registerWebGpuTrainingKernels();
  if (fusedBn) patchLayersBatchNorm();
  if (convGemm) useWebGpuConvGemm('all');
  if (previousConvs) {
    useWebGpuConvGemm('off');
    forceConvInputGradProgram('tiled');
  }
  if (!(await tf.setBackend('webgpu'))) throw new Error('webgpu backend failed to initialise');
  await tf.ready();
  for (const f of tfFlags) {
    const [name, value] = f.split('=');
    const v = value === 'true' ? true : value === 'false' ? false : Number(value);
    if (value === undefined || (typeof v === 'number' && !Number.isFinite(v)))
      throw new Error(`bad --tf-flag ${f}`);
    tf.env().set(name, v);
  }
  return [i.description, i.device, i.vendor, i.architecture].filter((s) => s).join(' | ');
}

function images(n: number): tf.Tensor4D {
  const rng = new Rng(1);
  return tf.tensor4d(
    Float32Array.from({ length: n * size * size * 3 }, () => rng.normal()),
    [n, size, size, 3],
  );
}

/** Images per second of `forward` at batch b (the same input each time, logits read back). */
async function inference(forward: (x: tf.Tensor4D) => tf.Tensor, b: number): Promise<number> {
  const x = images(b);
  const run = async (): Promise<void> => {
    const y = tf.tidy(() => forward(x));
    await y.data();
    y.dispose();
  };
  await run();
  await run();
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) await run();
  const sec = (performance.now() - t0) / 1000;
  x.dispose();
  return (b * iters) / sec;
}

/** Images per second when each batch's output is read while the next batch runs. */
async function pipelinedInference(graph: InferenceGraph, b: number): Promise<number> {
  const x = images(b);
  // As predictProbabilities: batch k's readback starts once it is submitted, before batch k + 1.
  const enqueue = (): { y: tf.Tensor; read: Promise<unknown> } => {
    const y = tf.tidy(() => graph.logits(x));
    submitWebGpuWork();
    return { y, read: startReadback(y) };
  };
  const t0 = performance.now();
  let prev = enqueue();
  for (let i = 1; i < iters; i++) {
    const cur = enqueue();
    await prev.read;
    prev.y.dispose();
    prev = cur;
  }
  await prev.read;
  prev.y.dispose();
  const sec = (performance.now() - t0) / 1000;
  x.dispose();
  return (b * iters) / sec;
}

/** GPU time per tfjs kernel of one profiled call (tf.profile with timestamp queries). */
async function profileKernels(
  key: string,
  label: string,
  f: () => Promise<unknown> | unknown,
): Promise<void> {
  const prof = await tf.profile(f as () => tf.TensorContainer);
  const byKernel = new Map<string, { ms: number; n: number }>();
  let total = 0;
  for (const k of prof.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : Number.NaN;
    const e = byKernel.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n++;
    byKernel.set(k.name, e);
    if (Number.isFinite(ms)) total += ms;
  }
  const topK = [...byKernel.entries()].sort((a, c) => c[1].ms - a[1].ms).slice(0, 15);
  report(
    key,
    { tfjsKernels: prof.kernels.length, gpuMs: total, top: Object.fromEntries(topK) },
    `${label}: ${prof.kernels.length} tfjs kernels, GPU time ${total.toFixed(1)} ms\n${topK
      .map(([k, v]) => `  ${k.padEnd(28)} ${v.ms.toFixed(2).padStart(9)} ms  ×${v.n}`)
      .join('\n')}`,
  );
}

async function training(model: tf.LayersModel, b: number, profile: boolean): Promise<void> {
  const step = makeTrainingStep(model, { fusedAdam, fast: !portable });
  const x = images(b);
  const y = tf.tensor1d(
    Int32Array.from({ length: b }, (_, i) => i % 2),
    'int32',
  );
  const t0 = performance.now();
  await step.run(x, y); // first step: shader compilation
  const firstMs = performance.now() - t0;
  const { count } = await countKernels(() => step.run(x, y));
  const t1 = performance.now();
  for (let i = 0; i < steps; i++) await step.run(x, y);
  const sec = (performance.now() - t1) / 1000;
  // As trainModel runs steps (one in flight): step k's loss readback starts once step k is
  // submitted, step k + 1 is encoded, then step k's loss is awaited.
  const t2 = performance.now();
  let prev: { loss: tf.Scalar; read: Promise<unknown> } | null = null;
  let encodeMs = 0; // CPU time spent encoding steps (enqueue returns before the GPU finishes)
  for (let i = 0; i < steps; i++) {
    const te = performance.now();
    const loss = step.enqueue(x, y);
    encodeMs += performance.now() - te;
    const cur = { loss, read: startReadback(loss) };
    if (prev) {
      await prev.read;
      prev.loss.dispose();
    }
    prev = cur;
  }
  if (prev) {
    await prev.read;
    prev.loss.dispose();
  }
  const pipelinedSec = (performance.now() - t2) / 1000;
  const top = [...count.byProgram.entries()].sort((a, c) => c[1] - a[1]).slice(0, 12);
  report(
    `train_b${b}`,
    {
      imgPerSec: (b * steps) / sec,
      msPerStep: (sec * 1000) / steps,
      pipelinedImgPerSec: (b * steps) / pipelinedSec,
      encodeMsPerStep: encodeMs / steps,
      firstStepMs: firstMs,
      programsPerStep: count.total,
      bufferCopiesPerStep: count.copies,
      programs: Object.fromEntries(top),
    },
    `training b${b}: ${((b * steps) / sec).toFixed(2)} img/s (${((sec * 1000) / steps).toFixed(1)} ms/step, first ${firstMs.toFixed(0)} ms); loss read during the next step: ${((b * steps) / pipelinedSec).toFixed(2)} img/s, CPU encoding ${(encodeMs / steps).toFixed(1)} ms/step; GPU programs per step: ${count.total} (+ ${count.copies} buffer copies)\n  by program: ${top.map(([k, v]) => `${k} ${v}`).join(', ')}`,
  );
  if (profile) await profileKernels(`profile_b${b}`, `profile b${b}`, () => step.run(x, y));
  tf.dispose([x, y]);
  step.dispose();
}

async function main(): Promise<void> {
  const adapter = await initWebGpu();
  report(
    'adapter',
    adapter,
    `adapter: ${adapter}; kernels: ${stock ? 'stock tfjs' : 'fundus webgpu'}${convGemm ? ' + GEMM convolutions everywhere' : previousConvs ? ' (previous convolution programs)' : ''}; step: ${path_}`,
  );
  if (convKernels) {
    const b = batches[batches.length - 1];
    const { rows, totals } = await convKernelBench(size, b, Number(arg('reps') ?? (small ? 1 : 10)), (l) =>
      console.log(l),
    );
    report(`conv_kernels_b${b}`, { rows, totals }, `conv kernels: ${rows.length} shapes at batch ${b}`);
    return;
  }
  const model = createModel({ architecture, inputSize: size, seed: 1 });
  if (process.argv.includes('--layer-profile')) {
    const b = batches[batches.length - 1];
    const profiles = await layerProfile(model, images, b, (l) => console.log(l));
    report(
      `layer_profile_b${b}`,
      profiles,
      `layer profile: ${Object.keys(profiles).length} variants at batch ${b}`,
    );
    model.dispose();
    return;
  }
  if (process.argv.includes('--train-model')) {
    await trainModelBench(model, batches[batches.length - 1], Number(arg('batches-per-epoch') ?? 16));
    model.dispose();
    return;
  }
  if (!noInfer) await inferenceBench(model);
  for (const b of batches) await training(model, b, b === batches[batches.length - 1]);
  model.dispose();
}

/** trainModel's own loop: images/s between onBatchEnd callbacks after the first two batches. */
async function trainModelBench(model: tf.LayersModel, b: number, batchesPerEpoch: number): Promise<void> {
  const per = size * size * 3;
  const rng = new Rng(2);
  const pixels = Float32Array.from({ length: b * per }, () => rng.normal());
  const n = b * batchesPerEpoch;
  const train: DataSource = {
    size: n,
    labels: Int32Array.from({ length: n }, (_, i) => i % 2),
    batch: (idx) => ({ x: pixels.subarray(0, idx.length * per), y: Int32Array.from(idx, (i) => i % 2) }),
  };
  const at: number[] = [];
  const losses: number[] = [];
  const t0 = performance.now();
  await trainModel({
    model,
    config: {
      loss: { kind: 'focal-seed', alpha: 2, gamma: 2 },
      optimizer: { kind: 'adam' },
      learningRate: 1e-4,
      epochs: 1,
      batchSize: b,
      seed: 1,
    },
    train,
    callbacks: {
      onBatchEnd: (e) => {
        at.push(performance.now());
        losses.push(e.loss);
      },
    },
  });
  const total = (performance.now() - t0) / 1000;
  const steady = at.length > 3 ? (b * (at.length - 3)) / ((at[at.length - 1] - at[2]) / 1000) : Number.NaN;
  report(
    `train_model_b${b}`,
    {
      imgPerSec: steady,
      batches: at.length,
      totalSec: total,
      firstLoss: losses[0],
      lastLoss: losses[losses.length - 1],
    },
    `trainModel b${b}: ${steady.toFixed(1)} img/s after the first 3 of ${at.length} batches (epoch ${total.toFixed(1)} s incl. shader compilation); loss ${losses[0]?.toFixed(4)} → ${losses[losses.length - 1]?.toFixed(4)}`,
  );
}

async function inferenceBench(model: tf.LayersModel): Promise<void> {
  // Inference: the layers model as tfjs-layers runs it, and compileInference (batch norm folded into
  // the convolutions, ReLU fused: what predictProbabilities uses).
  const graph = compileInference(model);
  for (const b of batches) {
    const layers = await inference((x) => model.predict(x) as tf.Tensor, b);
    report(`infer_b${b}`, layers, `inference b${b}: ${layers.toFixed(1)} img/s (layers model)`);
    const folded = await inference((x) => graph.logits(x), b);
    report(`infer_folded_b${b}`, folded, `inference b${b}: ${folded.toFixed(1)} img/s (folded batch norm)`);
    const piped = await pipelinedInference(graph, b);
    report(
      `infer_folded_pipelined_b${b}`,
      piped,
      `inference b${b}: ${piped.toFixed(1)} img/s (folded, each batch read while the next runs, as predictProbabilities does)`,
    );
  }
  const last = batches[batches.length - 1];
  const xp = images(last);
  await profileKernels(`profile_infer_b${last}`, `inference profile b${last} (folded)`, async () => {
    const y = graph.logits(xp);
    await y.data();
    y.dispose();
  });
  xp.dispose();
  graph.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
