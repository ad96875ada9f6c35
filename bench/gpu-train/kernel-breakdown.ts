/**
 * GPU programs of one ResNet50 training step on webgpu (lavapipe here), attributed to the tfjs
 * kernel that dispatched them (innermost `engine.runKernel`; our own raw dispatches by name).
 *
 *   npx tsx bench/gpu-train/kernel-breakdown.ts [--size 32] [--batch 1] [--stock-step] [--top 30] [--once]
 *   [--no-wait]
 *   (--once: count the first step, skipping the warm-up step; the count is the same, see kernel-count.spec;
 *   --no-wait: count the first step as it is encoded and exit without running it, e.g. --size 224 --batch 32)
 *
 * Default: the fast path as trainModel runs it on webgpu (`makeTrainingStep(model, { fast: true })`);
 * `--stock-step` runs the project's Optimizer with stock tfjs-layers batch norm instead.
 */
import * as tf from '@tensorflow/tfjs';
import { createModel } from '../../libs/model/src/architectures';
import { initBackend } from '../../libs/model/src/backends';
import { countKernels, makeTrainingStep } from '../../libs/model/src/webgpu';
import { arg } from '../support/args';

const size = Number(arg('size') ?? 32);
const batch = Number(arg('batch') ?? 1);
const top = Number(arg('top') ?? 30);
const fast = !process.argv.includes('--stock-step');
const once = process.argv.includes('--once');
// Count the first step's programs as they are encoded and exit without waiting for the device to
// run them: how the count at 224 px, batch 32 is taken on lavapipe, which would need hours to run it.
const noWait = process.argv.includes('--no-wait');

interface EngineLike {
  runKernel(name: string, ...rest: unknown[]): unknown;
}

async function main(): Promise<void> {
  const info = await initBackend('webgpu');
  console.log(
    `adapter: ${info.adapter}; ResNet50 ${size} px, batch ${batch}, ${fast ? 'fast path' : 'stock step'}`,
  );
  const model = createModel({ architecture: 'resnet50', inputSize: size, seed: 3 });
  const step = makeTrainingStep(model, { fast });
  const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  const y = tf.tensor1d(
    Array.from({ length: batch }, (_, i) => i % 2),
    'int32',
  );
  if (!once && !noWait) await step.run(x, y);
  const engine = tf.engine() as unknown as EngineLike;
  const stack: string[] = [];
  const original = engine.runKernel;
  engine.runKernel = function (this: unknown, name: string, ...rest: unknown[]) {
    stack.push(name);
    try {
      return original.call(this, name, ...rest);
    } finally {
      stack.pop();
    }
  };
  const byKernel = new Map<string, number>();
  const { result, count } = await countKernels(
    () => (noWait ? (step.enqueue(x, y), Number.NaN) : step.run(x, y)),
    (program) => {
      const key = `${stack[stack.length - 1] ?? '(raw)'} / ${program}`;
      byKernel.set(key, (byKernel.get(key) ?? 0) + 1);
    },
  );
  engine.runKernel = original;
  console.log(`loss ${result}; programs ${count.total}; buffer copies ${count.copies}`);
  console.log(
    'by program:',
    [...count.byProgram.entries()].sort((a, b) => b[1] - a[1]),
  );
  for (const [k, n] of [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${String(n).padStart(6)}  ${k}`);
  }
  if (noWait) process.exit(0);
  tf.dispose([x, y]);
  step.dispose();
  model.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
