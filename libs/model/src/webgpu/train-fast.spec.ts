/**
 * trainModel on webgpu (lavapipe) takes the fast path by default — FlatOptimizer, fused batch norm
 * (+ ReLU), one program for the moving averages — and gives the same per-step losses, weights and
 * moving statistics as the portable path on the `cpu` backend, for AdamW and SGD (Nesterov, L2).
 */
import * as tf from '@tensorflow/tfjs';
import { createModel } from '../architectures';
import { initBackend } from '../backends';
import { ModelError } from '../errors';
import { loadCheckpoint, MemoryModelStore, saveCheckpoint } from '../model-io';
import { SpotData, relativeError } from '../spec-helpers';
import type { OptimizerConfig } from '../optimizers';
import { trainModel, type TrainConfig } from '../train';
import { countKernels } from '.';

const S = 16;
const CASES: Array<[string, OptimizerConfig, number]> = [
  ['adamw', { kind: 'adam' }, 1e-2],
  ['sgd nesterov + L2', { kind: 'sgd', momentum: 0.9, nesterov: true }, 1e-3],
];

interface Run {
  losses: number[];
  weights: Map<string, Float32Array>;
  programs: Map<string, number>;
}

async function run(opt: OptimizerConfig, weightDecay: number, fastPath?: boolean): Promise<Run> {
  const model = createModel({ architecture: 'tiny-resnet', inputSize: S, seed: 5, widths: [8, 16] });
  const data = new SpotData({ n: 12, size: S, seed: 3 });
  const config: TrainConfig = {
    loss: { kind: 'focal-seed', alpha: 2, gamma: 2 },
    optimizer: opt,
    learningRate: opt.kind === 'adam' ? 3e-3 : 3e-2,
    weightDecay,
    epochs: 2,
    batchSize: 4,
    seed: 11,
  };
  const losses: number[] = [];
  const train = (): Promise<unknown> =>
    trainModel({
      model,
      config,
      train: data,
      webgpuFastPath: fastPath,
      callbacks: { onBatchEnd: (b) => void losses.push(b.loss) },
    });
  let programs = new Map<string, number>();
  if (tf.getBackend() === 'webgpu') programs = (await countKernels(train)).count.byProgram;
  else await train();
  const weights = new Map<string, Float32Array>();
  for (const w of model.weights) weights.set(w.originalName, (await w.read().data()) as Float32Array);
  model.dispose();
  return { losses, weights, programs };
}

describe('trainModel on webgpu: fast path', () => {
  const ref: Run[] = [];
  beforeAll(async () => {
    await initBackend('cpu');
    for (const [, opt, wd] of CASES) ref.push(await run(opt, wd));
    await initBackend('webgpu');
  }, 120_000);

  it.each(CASES.map((c, i) => [c[0], i] as const))(
    '%s: same losses, weights and moving statistics as cpu',
    async (_n, i) => {
      const before = tf.memory().numTensors;
      const got = await run(CASES[i][1], CASES[i][2]);
      expect(tf.memory().numTensors).toBe(before);
      // 3 steps per epoch × 2 epochs, each with one optimizer and one moving-average program.
      const flatName = CASES[i][1].kind === 'adam' ? 'FlatAdam' : 'FlatSgd';
      expect(got.programs.get(flatName)).toBe(6);
      expect(got.programs.get('FlatMovingAverages')).toBe(6);
      expect(got.losses).toHaveLength(6);
      got.losses.forEach((l, k) =>
        expect(Math.abs(l - ref[i].losses[k])).toBeLessThan(1e-4 * ref[i].losses[k]),
      );
      for (const [name, w] of ref[i].weights) {
        expect([name, relativeError(got.weights.get(name) as Float32Array, w) < 1e-4]).toEqual([name, true]);
      }
    },
    120_000,
  );

  it('webgpuFastPath: false runs the portable path (same losses)', async () => {
    const got = await run(CASES[0][1], CASES[0][2], false);
    expect(got.programs.get('FlatAdam')).toBeUndefined();
    expect(got.programs.get('FlatMovingAverages')).toBeUndefined();
    got.losses.forEach((l, k) =>
      expect(Math.abs(l - ref[0].losses[k])).toBeLessThan(1e-4 * ref[0].losses[k]),
    );
  }, 120_000);

  it('checkpoint + resume on the fast path equals straight training (optimizer state round trip)', async () => {
    const cfg: TrainConfig = {
      loss: { kind: 'focal-seed', alpha: 2, gamma: 2 },
      optimizer: { kind: 'adam' },
      learningRate: 3e-3,
      weightDecay: 1e-2,
      epochs: 2,
      batchSize: 4,
      seed: 11,
    };
    const data = new SpotData({ n: 12, size: S, seed: 3 });
    const model = (): tf.LayersModel =>
      createModel({ architecture: 'tiny-resnet', inputSize: S, seed: 5, widths: [8, 16] });
    const straight = model();
    const full = await trainModel({ model: straight, config: cfg, train: data });

    const store = new MemoryModelStore();
    const first = model();
    await trainModel({
      model: first,
      config: cfg,
      train: data,
      callbacks: {
        onEpochEnd: async (rec, ctx) => {
          await saveCheckpoint(first, await ctx.state(), store, 'runs/fast/checkpoint');
          throw new ModelError('aborted', 'simulated crash after epoch ' + rec.epoch);
        },
      },
    }).catch((e: ModelError) => expect(e.code).toBe('aborted'));
    first.dispose();
    const { model: resumed, state } = await loadCheckpoint(store, 'runs/fast/checkpoint');
    const rest = await trainModel({ model: resumed, config: cfg, train: data, resume: state });
    expect(Math.abs(rest.history[1].trainLoss - full.history[1].trainLoss)).toBeLessThan(
      1e-5 * full.history[1].trainLoss,
    );
    for (const [i, w] of straight.weights.entries()) {
      const a = (await w.read().data()) as Float32Array;
      const b = (await resumed.weights[i].read().data()) as Float32Array;
      expect([w.originalName, relativeError(b, a) < 1e-5]).toEqual([w.originalName, true]);
    }
    straight.dispose();
    resumed.dispose();
  }, 120_000);
});
