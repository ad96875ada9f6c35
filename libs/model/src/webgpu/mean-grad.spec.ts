/**
 * The Mean gradient registered with the webgpu kernels (mean-grad.ts): on webgpu, broadcastTo(dy) / n
 * — no CPU-side array of ones uploaded — equal to the cpu backend's tfjs-core gradient, for the
 * global average pooling of a ResNet and a mean over the batch (the loss).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backends';
import { Rng } from '../rng';
import { countKernels } from '.';
import { relativeError } from '../spec-helpers';

// [x shape, axes, keepDims]: global average pooling, a loss averaged over the batch, two axes, and
// keepDims.
const CASES: Array<{ shape: number[]; axes: number[]; keepDims?: boolean }> = [
  { shape: [2, 7, 7, 64], axes: [1, 2] },
  { shape: [6], axes: [0] },
  { shape: [3, 4, 5], axes: [0, 2] },
  { shape: [3, 4, 5], axes: [1], keepDims: true },
];

function normal(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** ∂/∂x of Σ(mean(x, axes) · w) for fixed random w, so dy is not uniform. */
async function grad(i: number): Promise<Float32Array> {
  const { shape, axes, keepDims = false } = CASES[i];
  const x = tf.tensor(
    normal(
      shape.reduce((a, b) => a * b, 1),
      3 + i,
    ),
    shape,
  );
  const outShape = keepDims
    ? shape.map((d, k) => (axes.includes(k) ? 1 : d))
    : shape.filter((_, d) => !axes.includes(d));
  const w = tf.tensor(
    normal(
      Math.max(
        1,
        outShape.reduce((a, b) => a * b, 1),
      ),
      30 + i,
    ),
    outShape,
  );
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mean(t, axes, keepDims), w)))(x);
  const data = (await g.data()) as Float32Array;
  tf.dispose([x, w, g]);
  return data;
}

describe('Mean gradient (webgpu training kernels)', () => {
  const ref: Float32Array[] = [];
  beforeAll(async () => {
    await initBackend('cpu');
    for (let i = 0; i < CASES.length; i++) ref.push(await grad(i));
    await initBackend('webgpu');
  });

  it.each(CASES.map((c, i) => [JSON.stringify(c), i] as const))(
    '%s: equals the cpu backend, through a tile and a division (no multiply by uploaded ones)',
    async (_n, i) => {
      // Tensors made from CPU values of x's size: x itself only (tfjs-core's gradient makes a second,
      // its array of ones).
      const size = CASES[i].shape.reduce((a, b) => a * b, 1);
      const engine = tf.engine() as unknown as { makeTensor: (...a: unknown[]) => tf.Tensor };
      const makeTensor = engine.makeTensor;
      let uploadsOfXSize = 0;
      engine.makeTensor = function (this: unknown, ...a: unknown[]): tf.Tensor {
        const t = makeTensor.apply(this, a);
        if (t.size === size) uploadsOfXSize++;
        return t;
      };
      try {
        const { result, count } = await countKernels(() => grad(i));
        expect(relativeError(result, ref[i])).toBeLessThan(1e-6);
        expect(count.byProgram.get('TileProgram')).toBe(1);
      } finally {
        engine.makeTensor = makeTensor;
      }
      expect(uploadsOfXSize).toBe(1);
    },
  );
});
