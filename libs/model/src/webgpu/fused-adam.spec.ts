/**
 * FusedAdam (3 WGSL programs per variable on webgpu) against `Optimizer` (kind adam) on the `cpu`
 * backend: same variables, gradients and steps, with and without weight decay.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backends';
import { Optimizer } from '../optimizers';
import { Rng } from '../rng';
import { countKernels, FusedAdam } from '.';

const SHAPES = [[3, 3, 64, 64], [256], [1, 1, 256, 512], [2048, 2]];
const NAMES = ['c_kernel', 'bn_gamma', 'proj_kernel', 'dense_kernel'];
const STEPS = 3;

function normal(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

async function run(kind: 'reference' | 'fused', weightDecay: number): Promise<Float32Array[]> {
  const vars = SHAPES.map((s, i) =>
    tf.variable(
      tf.tensor(
        normal(
          s.reduce((a, b) => a * b),
          i,
        ),
        s,
      ),
      true,
      `v${kind}${weightDecay}${i}`,
    ),
  );
  const opt =
    kind === 'fused'
      ? new FusedAdam(vars, NAMES, {}, weightDecay)
      : new Optimizer({ kind: 'adam' }, vars, NAMES, weightDecay);
  for (let t = 0; t < STEPS; t++) {
    const grads = SHAPES.map((s, i) =>
      tf.tensor(
        normal(
          s.reduce((a, b) => a * b),
          100 * t + i,
        ),
        s,
      ),
    );
    opt.apply(grads, 1e-2);
    tf.dispose(grads);
  }
  const out = await Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
  opt.dispose();
  tf.dispose(vars);
  return out;
}

function maxRelErr(got: Float32Array[], ref: Float32Array[]): number {
  let worst = 0;
  got.forEach((g, i) => {
    let maxRef = 0;
    let maxErr = 0;
    for (let j = 0; j < g.length; j++) {
      maxRef = Math.max(maxRef, Math.abs(ref[i][j]));
      maxErr = Math.max(maxErr, Math.abs(g[j] - ref[i][j]));
    }
    worst = Math.max(worst, maxErr / maxRef);
  });
  return worst;
}

describe('FusedAdam', () => {
  const ref: Record<number, Float32Array[]> = {};
  beforeAll(async () => {
    await initBackend('cpu');
    ref[0] = await run('reference', 0);
    ref[0.01] = await run('reference', 0.01);
    // The fallback path (non-webgpu backends) is the same maths in tfjs ops.
    expect(maxRelErr(await run('fused', 0.01), ref[0.01])).toBeLessThan(1e-6);
    await initBackend('webgpu');
  });

  it.each([0, 0.01])('webgpu agrees with Optimizer(adam) on cpu, weight decay %p', async (wd) => {
    expect(maxRelErr(await run('fused', wd), ref[wd])).toBeLessThan(1e-4);
  });

  it('dispatches 3 GPU programs per variable and leaks nothing', async () => {
    const vars = SHAPES.map((s) => tf.variable(tf.ones(s)));
    const grads = SHAPES.map((s) => tf.ones(s));
    const opt = new FusedAdam(vars, NAMES);
    const before = tf.memory().numTensors;
    const { count } = await countKernels(async () => {
      opt.apply(grads, 1e-3);
      await vars[0].data();
    });
    expect(count.total).toBe(3 * SHAPES.length);
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    tf.dispose([...vars, ...grads]);
  });
});
