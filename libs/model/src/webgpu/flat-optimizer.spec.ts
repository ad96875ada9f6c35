/**
 * FlatOptimizer (one GPU program per step over all variables, webgpu) against `Optimizer` on the
 * `cpu` backend: Adam and SGD (momentum, Nesterov), with and without weight decay, on ResNet50
 * variable shapes; state round trip through getState/setState; one dispatch per step.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backends';
import { Optimizer, type OptimizerConfig, type OptimizerState } from '../optimizers';
import { Rng } from '../rng';
import { countKernels } from '.';
import { FlatOptimizer } from './flat-optimizer';

// ResNet50 shapes: 3×3 conv kernel, BN gamma, 1×1 projection, conv bias, dense head.
const SHAPES = [[3, 3, 64, 64], [256], [1, 1, 256, 512], [512], [2048, 2]];
const NAMES = ['c_kernel', 'bn_gamma', 'proj_kernel', 'c_bias', 'dense_kernel'];
const STEPS = 3;

function normal(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}
const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);

async function run(
  kind: 'reference' | 'flat',
  cfg: OptimizerConfig,
  weightDecay: number,
): Promise<{ weights: Float32Array[]; state: OptimizerState }> {
  const vars = SHAPES.map((s, i) => tf.variable(tf.tensor(normal(size(s), i), s), true));
  const opt =
    kind === 'flat'
      ? new FlatOptimizer(cfg, vars, NAMES, weightDecay)
      : new Optimizer(cfg, vars, NAMES, weightDecay);
  for (let t = 0; t < STEPS; t++) {
    const grads = SHAPES.map((s, i) => tf.tensor(normal(size(s), 100 * t + i), s));
    opt.apply(grads, 1e-2 * (t + 1));
    tf.dispose(grads);
  }
  const weights = await Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
  const state = await opt.getState();
  opt.dispose();
  tf.dispose(vars);
  return { weights, state };
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

const CASES: Array<[string, OptimizerConfig, number]> = [
  ['adam', { kind: 'adam' }, 0],
  ['adamw 0.01', { kind: 'adam', beta1: 0.8, epsilon: 1e-6 }, 0.01],
  ['sgd momentum', { kind: 'sgd', momentum: 0.9 }, 0],
  ['sgd nesterov + L2', { kind: 'sgd', momentum: 0.8, nesterov: true }, 0.01],
];

describe('FlatOptimizer', () => {
  const ref: Array<{ weights: Float32Array[]; state: OptimizerState }> = [];
  beforeAll(async () => {
    await initBackend('cpu');
    for (const [, cfg, wd] of CASES) ref.push(await run('reference', cfg, wd));
    await initBackend('webgpu');
  });

  it.each(CASES.map((c, i) => [c[0], i] as const))(
    '%s: weights and state agree with Optimizer on cpu to 1e-4 relative',
    async (_n, i) => {
      const got = await run('flat', CASES[i][1], CASES[i][2]);
      expect(maxRelErr(got.weights, ref[i].weights)).toBeLessThan(1e-4);
      expect(got.state.step).toBe(STEPS);
      expect(got.state.names).toEqual(NAMES);
      for (let k = 0; k < got.state.slots[0].length; k++) {
        expect(
          maxRelErr(
            got.state.slots.map((s) => s[k]),
            ref[i].state.slots.map((s) => s[k]),
          ),
        ).toBeLessThan(1e-4);
      }
    },
  );

  it('one GPU program per step for all variables; state round trip; leaks nothing', async () => {
    const vars = SHAPES.map((s, i) => tf.variable(tf.tensor(normal(size(s), i), s)));
    const grads = SHAPES.map((s, i) => tf.tensor(normal(size(s), 50 + i), s));
    const opt = new FlatOptimizer({ kind: 'adam' }, vars, NAMES, 0.01);
    opt.apply(grads, 1e-3);
    const before = tf.memory().numTensors;
    const { count } = await countKernels(async () => {
      opt.apply(grads, 1e-3);
      await vars[0].data();
    });
    expect(count.total).toBe(1);
    expect(count.byProgram.get('FlatAdam')).toBe(1);
    // Copies: gradients in and weights out (weights are not re-gathered: unchanged since our write).
    expect(count.copies).toBe(2 * SHAPES.length);
    expect(tf.memory().numTensors).toBe(before);

    // A second optimizer restored from the first's state takes the same next step.
    const state = await opt.getState();
    const w0 = await Promise.all(vars.map((v) => v.data()));
    const vars2 = SHAPES.map((s, i) => tf.variable(tf.tensor(w0[i] as Float32Array, s)));
    const opt2 = new FlatOptimizer({ kind: 'adam' }, vars2, NAMES, 0.01);
    opt2.setState(state);
    opt.apply(grads, 1e-3);
    opt2.apply(grads, 1e-3);
    const a = await Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
    const b = await Promise.all(vars2.map(async (v) => (await v.data()) as Float32Array));
    expect(maxRelErr(b, a)).toBe(0);
    // A variable overwritten from outside is re-read before the next update.
    vars[1].assign(tf.zeros(SHAPES[1]));
    opt.apply(grads, 1e-3);
    const gamma = (await vars[1].data()) as Float32Array;
    expect(Math.max(...gamma.map(Math.abs))).toBeLessThan(0.01);
    opt.dispose();
    opt2.dispose();
    tf.dispose([...vars, ...vars2, ...grads]);
    const lone = tf.variable(tf.zeros([2]));
    const sgd = new FlatOptimizer({ kind: 'sgd' }, [lone], ['x'], 0);
    expect(() => sgd.setState(state)).toThrow(/saved for "adam"/);
    sgd.dispose();
    lone.dispose();
  });
});
