/**
 * WebGPU (Dawn) benchmark for a GPU machine: ResNet50 inference and training images/s at 224 px,
 * and tfjs kernels dispatched per training step, with the wasm backend's inference in the same run
 * as a CPU reference.
 *
 *   npx tsx bench/model/gpu-bench.ts [--batch 32] [--size 224] [--steps 3]
 *
 * On a machine without Node, bundle it (esbuild) and carry node + dawn.node (see RESULTS.md).
 */
import * as tf from '@tensorflow/tfjs';
import { createModel, initBackend, meanLoss, trainModel } from '../../libs/model/src';
import { Rng } from '../../libs/model/src/rng';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const batch = arg('batch', 32);
const size = arg('size', 224);
const steps = arg('steps', 3);

function images(n: number, s: number): Float32Array {
  const rng = new Rng(1);
  return Float32Array.from({ length: n * s * s * 3 }, () => rng.normal());
}

async function inference(b: number, iters: number): Promise<number> {
  const model = createModel({ architecture: 'resnet50', inputSize: size, seed: 1 });
  const x = tf.tensor4d(images(b, size), [b, size, size, 3]);
  const run = async (): Promise<void> => {
    const y = model.predict(x) as tf.Tensor;
    await y.data();
    y.dispose();
  };
  await run();
  await run();
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) await run();
  const sec = (performance.now() - t0) / 1000;
  x.dispose();
  model.dispose();
  return (b * iters) / sec;
}

async function training(): Promise<{ imgPerSec: number; kernels: number }> {
  const model = createModel({ architecture: 'resnet50', inputSize: size, seed: 1 });
  const x = images(batch, size);
  const n = batch * (steps + 2);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
  let t0 = 0;
  let t1 = 0;
  await trainModel({
    model,
    train: { size: n, labels, batch: (idx) => ({ x, y: Int32Array.from(idx, (i) => labels[i]) }) },
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
        if (b.batch === 1) t0 = performance.now();
        t1 = performance.now();
      },
    },
  });
  // Kernels of one forward + backward pass (the optimizer adds ~15 elementwise kernels per variable).
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const xt = tf.tensor4d(x, [batch, size, size, 3]);
  const yt = tf.tensor1d(labels.slice(0, batch), 'int32');
  const prof = await tf.profile(() =>
    tf.tidy(() => {
      const { value } = tf.variableGrads(
        () =>
          meanLoss(
            { kind: 'focal-seed', alpha: 2, gamma: 2 },
            model.apply(xt, { training: true }) as tf.Tensor2D,
            yt,
          ),
        vars,
      );
      return value;
    }),
  );
  tf.dispose([xt, yt]);
  model.dispose();
  return { imgPerSec: (batch * steps) / ((t1 - t0) / 1000), kernels: prof.kernels.length };
}

async function main(): Promise<void> {
  const gpu = await initBackend('webgpu');
  console.log(`webgpu adapter: ${gpu.adapter}`);
  const inf = await inference(batch, 5);
  console.log(`webgpu ResNet50 ${size}px inference b${batch}: ${inf.toFixed(1)} img/s`);
  const tr = await training();
  console.log(
    `webgpu ResNet50 ${size}px training b${batch}: ${tr.imgPerSec.toFixed(2)} img/s; forward+backward kernels per step: ${tr.kernels}`,
  );
  await initBackend('wasm');
  const cpu = await inference(4, 2);
  console.log(`wasm ResNet50 ${size}px inference b4 (same machine, 1 thread): ${cpu.toFixed(2)} img/s`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
