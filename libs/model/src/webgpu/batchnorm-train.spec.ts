/**
 * batchNormTraining (custom gradient) against tfjs-layers' training path (moments + batchNorm,
 * differentiated op by op) on the `cpu` backend, and on webgpu against cpu; plus GPU programs per
 * layer (forward + backward) on webgpu, ours vs the composite.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backends';
import { Rng } from '../rng';
import { batchNormTraining, countKernels } from '.';

const SHAPE: [number, number, number, number] = [2, 6, 6, 64];
const EPS = 1.001e-5;

function normal(n: number, seed: number, scale = 1, shift = 0): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => shift + scale * rng.normal());
}

type Impl = 'ours' | 'composite';

/** y, mean, variance and the gradients of Σ(y·w) in x, gamma, beta, as flat arrays. */
async function run(impl: Impl): Promise<Float32Array[]> {
  const c = SHAPE[3];
  const x = tf.tensor4d(
    normal(
      SHAPE.reduce((a, b) => a * b),
      1,
      3,
      0.5,
    ),
    SHAPE,
  );
  const w = tf.tensor4d(normal(x.size, 2), SHAPE);
  const gamma = tf.tensor1d(normal(c, 3, 0.2, 1));
  const beta = tf.tensor1d(normal(c, 4));
  const stats: tf.Tensor[] = [];
  const f = (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Scalar => {
    let y: tf.Tensor;
    if (impl === 'ours') {
      const r = batchNormTraining(xi, g as tf.Tensor1D, b as tf.Tensor1D, EPS);
      stats.push(r.mean, r.variance);
      y = r.y;
    } else {
      const { mean, variance } = tf.moments(xi, [0, 1, 2]);
      stats.push(tf.keep(mean), tf.keep(variance));
      y = tf.batchNorm(xi, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, EPS);
    }
    return tf.sum(tf.mul(y, w));
  };
  const { value, grads } = tf.valueAndGrads(f)([x, gamma, beta]);
  const out = await Promise.all(
    [value, ...stats, ...grads].map(async (t) => (await t.data()) as Float32Array),
  );
  tf.dispose([x, w, gamma, beta, value, ...stats, ...grads]);
  return out;
}

function relErr(got: Float32Array, ref: Float32Array): number {
  let maxRef = 0;
  let maxErr = 0;
  for (let j = 0; j < ref.length; j++) {
    maxRef = Math.max(maxRef, Math.abs(ref[j]));
    maxErr = Math.max(maxErr, Math.abs(got[j] - ref[j]));
  }
  return maxErr / maxRef;
}

describe('batchNormTraining', () => {
  let ref: Float32Array[];
  beforeAll(async () => {
    await initBackend('cpu');
    ref = await run('composite');
  });

  it('matches the composite (moments + batchNorm) gradients on cpu', async () => {
    const before = tf.memory().numTensors;
    const got = await run('ours');
    got.forEach((g, i) => expect(relErr(g, ref[i])).toBeLessThan(1e-4));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('on webgpu agrees with cpu and takes fewer GPU programs than the composite', async () => {
    await initBackend('webgpu');
    const ours = await countKernels(() => run('ours'));
    ours.result.forEach((g, i) => expect(relErr(g, ref[i])).toBeLessThan(1e-4));
    const composite = await countKernels(() => run('composite'));
    expect(ours.count.total).toBeLessThan(composite.count.total);
    // Counts include the harness (Σ y·w and its gradient, the same in both): ours is 2 programs
    // forward (statistics, normalise) and 2 backward ([∂γ; ∂β], ∂x).
    expect({ ours: ours.count.total, composite: composite.count.total }).toEqual({ ours: 8, composite: 37 });
  });
});
