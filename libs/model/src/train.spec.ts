import * as tf from '@tensorflow/tfjs';
import { createModel } from './architectures';
import { rocAuc } from './auc';
import { initBackend } from './backends';
import { ModelError } from './errors';
import { loadCheckpoint, MemoryModelStore, saveCheckpoint } from './model-io';
import { Optimizer } from './optimizers';
import { learningRateAt } from './schedules';
import { SpotData } from './spec-helpers';
import { TrainConfig, trainModel, TrainState, validateTrainConfig } from './train';

const S = 16;

function tinyModel(seed = 1): tf.LayersModel {
  return createModel({ architecture: 'tiny-resnet', inputSize: S, seed, widths: [4, 8] });
}

function config(over: Partial<TrainConfig> = {}): TrainConfig {
  return {
    loss: { kind: 'focal-seed', alpha: 2, gamma: 2 },
    optimizer: { kind: 'adam' },
    learningRate: 3e-3,
    epochs: 2,
    batchSize: 8,
    seed: 11,
    ...over,
  };
}

function weightsOf(m: tf.LayersModel): Float32Array[] {
  return m.weights.map((w) => Float32Array.from(w.read().dataSync() as Float32Array));
}

async function expectRejectCode(p: Promise<unknown>, code: string): Promise<ModelError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ModelError);
  expect((err as ModelError).code).toBe(code);
  return err as ModelError;
}

describe('rocAuc', () => {
  it('matches hand-computed values, ties count one half', () => {
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 10);
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBeCloseTo(0.5, 10);
    expect(rocAuc([1, 2, 3], [0, 1, 1])).toBe(1);
    expect(rocAuc([3, 2, 1], [0, 1, 1])).toBe(0);
    expect(rocAuc([1, 2], [1, 1])).toBeNaN();
  });
});

describe('learning-rate schedules', () => {
  it('step: multiplies by gamma every stepEpochs', () => {
    const s = { kind: 'step', stepEpochs: 2, gamma: 0.1 } as const;
    expect(learningRateAt(s, 1, 0, 10)).toBeCloseTo(1);
    expect(learningRateAt(s, 1, 1.99, 10)).toBeCloseTo(1);
    expect(learningRateAt(s, 1, 2, 10)).toBeCloseTo(0.1);
    expect(learningRateAt(s, 1, 5, 10)).toBeCloseTo(0.01);
  });

  it('cosine with warm-up: linear ramp, peak, half-way, minimum', () => {
    const s = { kind: 'cosine', warmupEpochs: 2, minLr: 0.1 } as const;
    expect(learningRateAt(s, 1, 0, 12)).toBeCloseTo(0);
    expect(learningRateAt(s, 1, 1, 12)).toBeCloseTo(0.5);
    expect(learningRateAt(s, 1, 2, 12)).toBeCloseTo(1);
    expect(learningRateAt(s, 1, 7, 12)).toBeCloseTo(0.55);
    expect(learningRateAt(s, 1, 12, 12)).toBeCloseTo(0.1);
  });
});

describe('optimizers', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('SGD with momentum follows the textbook recursion; weight decay hits kernels only', () => {
    const k = tf.variable(tf.tensor1d([1]));
    const b = tf.variable(tf.tensor1d([1]));
    const opt = new Optimizer({ kind: 'sgd', momentum: 0.9 }, [k, b], ['d/kernel', 'd/bias'], 0.1);
    const g = tf.tensor1d([0.5]);
    opt.apply([g, g], 0.1);
    // kernel: g' = 0.5 + 0.1·1 = 0.6, v = 0.6, w = 1 − 0.06; bias: no decay, w = 1 − 0.05
    expect(k.dataSync()[0]).toBeCloseTo(0.94, 6);
    expect(b.dataSync()[0]).toBeCloseTo(0.95, 6);
    opt.apply([g, g], 0.1);
    // bias: v = 0.9·0.5 + 0.5 = 0.95, w = 0.95 − 0.095
    expect(b.dataSync()[0]).toBeCloseTo(0.855, 6);
    opt.dispose();
    tf.dispose([k, b, g]);
  });

  it('Adam: first step moves each weight by lr (bias-corrected), AdamW decay decoupled', async () => {
    const k = tf.variable(tf.tensor1d([2, 2]));
    const opt = new Optimizer({ kind: 'adam' }, [k], ['c/kernel'], 0.5);
    const g = tf.tensor1d([3, -0.01]);
    opt.apply([g], 0.01);
    const v = k.dataSync();
    expect(v[0]).toBeCloseTo(2 - 0.01 * (1 + 0.5 * 2), 5);
    expect(v[1]).toBeCloseTo(2 - 0.01 * (-1 + 0.5 * 2), 5);
    const state = await opt.getState();
    expect(state.step).toBe(1);
    expect(Array.from(state.slots[0][0])).toEqual([expect.closeTo(0.3, 6), expect.closeTo(-0.001, 6)]);
    opt.dispose();
    tf.dispose([k, g]);
  });
});

describe('trainModel', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('leaks no tensors: tf.memory().numTensors is the same after every epoch', async () => {
    const model = tinyModel();
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    await trainModel({
      model,
      config: config({ epochs: 3, augment: true, schedule: { kind: 'cosine', warmupEpochs: 1 } }),
      train: new SpotData({ n: 20, size: S, seed: 1 }),
      val: new SpotData({ n: 10, size: S, seed: 2 }),
      callbacks: { onEpochEnd: () => void counts.push(tf.memory().numTensors) },
    });
    expect(counts).toHaveLength(3);
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('1 epoch + checkpoint + resume + 1 epoch equals 2 straight epochs', async () => {
    const cfg = config({
      epochs: 2,
      augment: true,
      optimizer: { kind: 'sgd', momentum: 0.9 },
      weightDecay: 1e-4,
      learningRate: 0.05,
      schedule: { kind: 'cosine', warmupEpochs: 1, minLr: 0.001 },
    });
    const train = new SpotData({ n: 24, size: S, seed: 3 });
    const val = new SpotData({ n: 10, size: S, seed: 4 });

    const straight = tinyModel(5);
    const full = await trainModel({ model: straight, config: cfg, train, val });

    const store = new MemoryModelStore();
    const first = tinyModel(5);
    await trainModel({
      model: first,
      config: cfg,
      train,
      val,
      callbacks: {
        onEpochEnd: async (rec, ctx) => {
          if (rec.epoch === 1) await saveCheckpoint(first, await ctx.state(), store, 'runs/r1/checkpoint');
          // Stop after the checkpoint, as a crashed or cancelled job would.
          if (rec.epoch === 1) throw new ModelError('aborted', 'simulated crash');
        },
      },
    }).catch((e: ModelError) => expect(e.code).toBe('aborted'));
    first.dispose();

    const { model: resumed, state } = await loadCheckpoint(store, 'runs/r1/checkpoint');
    expect(state.epochsDone).toBe(1);
    const rest = await trainModel({ model: resumed, config: cfg, train, val, resume: state });

    expect(rest.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(rest.history[1].trainLoss).toBeCloseTo(full.history[1].trainLoss, 5);
    const a = weightsOf(straight);
    const b = weightsOf(resumed);
    expect(b.length).toBe(a.length);
    let maxDiff = 0;
    a.forEach((w, i) => w.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - b[i][j])))));
    expect(maxDiff).toBeLessThan(1e-5);
    straight.dispose();
    resumed.dispose();
  });

  it('stops early when validation AUC stops improving', async () => {
    const model = tinyModel();
    const res = await trainModel({
      model,
      // minDelta 1: no epoch after the first can improve AUC by more than 1.
      config: config({ epochs: 6, earlyStopping: { patience: 2, minDelta: 1 } }),
      train: new SpotData({ n: 16, size: S, seed: 1 }),
      val: new SpotData({ n: 10, size: S, seed: 2 }),
    });
    expect(res.stoppedEarly).toBe(true);
    expect(res.history).toHaveLength(3);
    expect(res.bestEpoch).toBe(1);
    expect(res.history.map((h) => h.improved)).toEqual([true, false, false]);
    model.dispose();
  });

  it('reports every batch and cancels through an AbortSignal', async () => {
    const model = tinyModel();
    const ac = new AbortController();
    const seen: number[] = [];
    const err = await expectRejectCode(
      trainModel({
        model,
        config: config({ epochs: 3 }),
        train: new SpotData({ n: 32, size: S, seed: 1 }),
        signal: ac.signal,
        callbacks: {
          onBatchEnd: (b) => {
            seen.push(b.batch);
            expect(b.batches).toBe(4);
            expect(Number.isFinite(b.loss)).toBe(true);
            if (b.epoch === 2 && b.batch === 1) ac.abort();
          },
        },
      }),
      'aborted',
    );
    expect(err.message).toMatch(/cancelled/);
    expect(seen).toEqual([0, 1, 2, 3, 0, 1]);
    model.dispose();
  });

  it('class-balanced sampling draws both classes about equally from a 1:9 training set', async () => {
    const model = tinyModel();
    const train = new SpotData({ n: 200, size: S, seed: 1, positiveEvery: 10 });
    await trainModel({
      model,
      config: config({ epochs: 1, batchSize: 50, classBalancedSampling: true, learningRate: 1e-4 }),
      train,
    });
    const drawn = train.requests.flatMap((r) => r.indices);
    expect(drawn).toHaveLength(200);
    const pos = drawn.filter((i) => train.labels[i] === 1).length / drawn.length;
    expect(pos).toBeGreaterThan(0.4);
    expect(pos).toBeLessThan(0.6);
    model.dispose();
  });

  it('is deterministic for a seed: same augmentation seeds and same losses twice', async () => {
    const run = async (): Promise<{ losses: number[]; seeds: number[] }> => {
      const model = tinyModel(2);
      const train = new SpotData({ n: 16, size: S, seed: 1 });
      const losses: number[] = [];
      await trainModel({
        model,
        config: config({ epochs: 1, augment: true }),
        train,
        callbacks: { onBatchEnd: (b) => void losses.push(b.loss) },
      });
      model.dispose();
      return { losses, seeds: train.requests.flatMap((r) => Array.from(r.request.seeds ?? [])) };
    };
    const a = await run();
    const b = await run();
    expect(a.seeds).toHaveLength(16);
    expect(b.seeds).toEqual(a.seeds);
    expect(b.losses).toEqual(a.losses);
  });

  it('rejects bad data and bad configuration with precise errors', async () => {
    const model = tinyModel();
    const bad = {
      size: 4,
      labels: [0, 1, 0, 1],
      batch: (idx: number[]) => ({ x: new Float32Array(idx.length * 10), y: new Int32Array(idx.length) }),
    };
    const e1 = await expectRejectCode(trainModel({ model, config: config(), train: bad }), 'invalid-data');
    expect(e1.message).toMatch(/batch\.x must be a Float32Array of 4×16×16×3 = 3072; got 40/);
    await expectRejectCode(
      trainModel({ model, config: config({ batchSize: 0 }), train: bad }),
      'invalid-config',
    );
    expect(() => validateTrainConfig(config({ learningRate: -1 }))).toThrow(
      /"learningRate" must be > 0; got -1/,
    );
    expect(() => validateTrainConfig(config({ optimizer: { kind: 'rmsprop' } as never }))).toThrow(
      /"kind" must be adam or sgd/,
    );
    expect(() =>
      validateTrainConfig(config({ schedule: { kind: 'step', stepEpochs: 0, gamma: 0.5 } })),
    ).toThrow(/"stepEpochs" must be > 0/);
    const state: TrainState = {
      epochsDone: 1,
      rngState: 1,
      optimizer: { kind: 'adam', step: 1, slots: [], names: [] },
      history: [],
      bestValAuc: null,
      bestEpoch: null,
      epochsWithoutImprovement: 0,
    };
    await expectRejectCode(
      trainModel({ model, config: config(), train: new SpotData({ n: 8, size: S, seed: 1 }), resume: state }),
      'incompatible-checkpoint',
    );
    model.dispose();
  });
});
