/**
 * The training loop: our own loop over tf.variableGrads and our optimizers (not model.fit), so that
 * schedules, checkpoints with optimizer and RNG state, cancellation and callbacks are explicit.
 *
 * `trainModel` is a plain async function taking plain data and callbacks, so it can run inside a
 * worker_threads Worker (the tfjs backend must be initialised in that thread first: `initBackend`).
 */
import * as tf from '@tensorflow/tfjs';
import { rocAuc } from './auc';
import { ModelError } from './errors';
import { LossConfig, meanLoss, perSampleLoss, resolveLossConfig } from './losses';
import { Optimizer, OptimizerConfig, OptimizerState, validateOptimizer } from './optimizers';
import { Rng } from './rng';
import { ScheduleConfig, learningRateAt, validateSchedule } from './schedules';
import {
  startReadback,
  type StepOptimizer,
  submitWebGpuWork,
  WebGpuFastPath,
  webGpuFastPathAvailable,
} from './webgpu';

/** One batch: images NHWC float32 [n, S, S, 3] (preprocessed) and labels int32 [n] (1 = disease). */
export interface Batch {
  x: Float32Array;
  y: Int32Array;
}

/** What the loop asks of a batch: whether to augment, and one seed per image when it does. */
export interface BatchRequest {
  augment: boolean;
  /** seeds[i] seeds the augmentation of indices[i]; present when augment is true. */
  seeds?: Uint32Array;
}

/**
 * Where training data comes from (a worker feeds it from its preprocessed cache).
 * Items are addressed by index in [0, size).
 */
export interface DataSource {
  readonly size: number;
  /** Label of every item, 1 = disease, 0 = normal (used for balanced sampling and AUC). */
  readonly labels: ArrayLike<number>;
  /** The images and labels of `indices`, in that order. */
  batch(indices: number[], request: BatchRequest): Batch | Promise<Batch>;
}

/** Early stopping on validation AUC. */
export interface EarlyStoppingConfig {
  /** Epochs without an improvement of more than `minDelta` before stopping (≥ 1). */
  patience: number;
  /** Default 0. */
  minDelta?: number;
}

/** Everything about how to train (the model itself is passed separately). */
export interface TrainConfig {
  loss: LossConfig;
  optimizer: OptimizerConfig;
  /** Peak learning rate (> 0). */
  learningRate: number;
  /** Adam: decoupled (AdamW); SGD: L2 added to the gradient. Kernels only. Default 0. */
  weightDecay?: number;
  /** Default constant. */
  schedule?: ScheduleConfig;
  /** Maximum epochs (≥ 1). */
  epochs: number;
  /** Images per step (≥ 1). */
  batchSize: number;
  /** Seeds shuffling, sampling and augmentation seeds. */
  seed: number;
  /** Ask the data source to augment training batches. Default false. */
  augment?: boolean;
  /** Draw each epoch's samples with replacement so both classes are equally likely. Default false. */
  classBalancedSampling?: boolean;
  earlyStopping?: EarlyStoppingConfig;
  /** Images per forward pass during validation. Default = batchSize. */
  evalBatchSize?: number;
}

/** One finished epoch. */
export interface EpochRecord {
  /** 1-based. */
  epoch: number;
  /** Mean training loss over the epoch's batches. */
  trainLoss: number;
  valLoss?: number;
  valAuc?: number;
  /** Learning rate at the epoch's last step. */
  learningRate: number;
  seconds: number;
  /** Validation AUC improved on the best so far (by more than minDelta). */
  improved: boolean;
}

/** Resumable loop state (plain data; the model weights are saved beside it). */
export interface TrainState {
  epochsDone: number;
  rngState: number;
  optimizer: OptimizerState;
  history: EpochRecord[];
  bestValAuc: number | null;
  bestEpoch: number | null;
  epochsWithoutImprovement: number;
}

export interface BatchInfo {
  epoch: number;
  /** 0-based within the epoch. */
  batch: number;
  batches: number;
  loss: number;
  learningRate: number;
}

export interface EpochContext {
  /** Validation P(disease) and labels of this epoch (for libs/metrics), when there is a val set. */
  valScores?: Float32Array;
  valLabels?: Int32Array;
  /** Snapshot of the loop state after this epoch, for a checkpoint (save the model beside it). */
  state(): Promise<TrainState>;
}

export interface TrainCallbacks {
  onBatchEnd?(info: BatchInfo): void | Promise<void>;
  /** Awaited before the next epoch starts (e.g. to write a checkpoint). */
  onEpochEnd?(record: EpochRecord, ctx: EpochContext): void | Promise<void>;
}

export interface TrainOptions {
  /** Model from createModel / loadModel; trained in place. Input [N, S, S, 3] → logits [N, 2]. */
  model: tf.LayersModel;
  config: TrainConfig;
  train: DataSource;
  val?: DataSource;
  /** Continue from a checkpoint's state (the model must hold that checkpoint's weights). */
  resume?: TrainState;
  signal?: AbortSignal;
  callbacks?: TrainCallbacks;
  /**
   * On the webgpu backend (after `initBackend('webgpu')`), train with the fused kernels of
   * ./webgpu (WebGpuFastPath: the optimizer as one GPU program over all variables, batch norm + ReLU
   * as a few fused programs, moving averages as one). Same maths to float32 rounding; checkpoints
   * are interchangeable. Default true; false runs the portable path. Ignored on other backends.
   */
  webgpuFastPath?: boolean;
}

export interface TrainResult {
  history: EpochRecord[];
  bestValAuc: number | null;
  bestEpoch: number | null;
  stoppedEarly: boolean;
  /** Final loop state (same as the last epoch's `state()`). */
  state: TrainState;
}

function invalid(message: string): ModelError {
  return new ModelError('invalid-config', `train config: ${message}`);
}

/**
 * Validates a training configuration (and its loss, optimizer, schedule).
 * @throws ModelError `invalid-config` naming the field.
 */
export function validateTrainConfig(c: TrainConfig): TrainConfig {
  if (c == null || typeof c !== 'object') throw invalid('must be an object');
  if (!(Number.isFinite(c.learningRate) && c.learningRate > 0))
    throw invalid(`"learningRate" must be > 0; got ${String(c.learningRate)}`);
  if (!Number.isInteger(c.epochs) || c.epochs < 1)
    throw invalid(`"epochs" must be an integer ≥ 1; got ${String(c.epochs)}`);
  if (!Number.isInteger(c.batchSize) || c.batchSize < 1)
    throw invalid(`"batchSize" must be an integer ≥ 1; got ${String(c.batchSize)}`);
  if (!Number.isSafeInteger(c.seed)) throw invalid(`"seed" must be an integer; got ${String(c.seed)}`);
  if (c.weightDecay !== undefined && !(c.weightDecay >= 0))
    throw invalid(`"weightDecay" must be ≥ 0; got ${String(c.weightDecay)}`);
  if (c.evalBatchSize !== undefined && !(Number.isInteger(c.evalBatchSize) && c.evalBatchSize >= 1)) {
    throw invalid(`"evalBatchSize" must be an integer ≥ 1; got ${String(c.evalBatchSize)}`);
  }
  if (c.earlyStopping) {
    if (!Number.isInteger(c.earlyStopping.patience) || c.earlyStopping.patience < 1) {
      throw invalid(
        `"earlyStopping.patience" must be an integer ≥ 1; got ${String(c.earlyStopping.patience)}`,
      );
    }
    if (c.earlyStopping.minDelta !== undefined && !(c.earlyStopping.minDelta >= 0)) {
      throw invalid(`"earlyStopping.minDelta" must be ≥ 0; got ${String(c.earlyStopping.minDelta)}`);
    }
  }
  return {
    ...c,
    loss: resolveLossConfig(c.loss),
    optimizer: validateOptimizer(c.optimizer),
    schedule: validateSchedule(c.schedule ?? { kind: 'constant' }),
  };
}

function inputSizeOf(model: tf.LayersModel): number {
  const shape = model.inputs[0].shape;
  const s = shape[1];
  if (shape.length !== 4 || s == null || shape[2] !== s || shape[3] !== 3) {
    throw new ModelError('invalid-config', `model input must be [N, S, S, 3]; got [${shape.join(', ')}]`);
  }
  return s;
}

function checkBatch(b: Batch, n: number, size: number, what: string): void {
  const want = n * size * size * 3;
  if (!(b.x instanceof Float32Array) || b.x.length !== want) {
    throw new ModelError(
      'invalid-data',
      `${what}: batch.x must be a Float32Array of ${n}×${size}×${size}×3 = ${want}; got ${b.x?.length}`,
    );
  }
  if (!(b.y instanceof Int32Array) || b.y.length !== n) {
    throw new ModelError(
      'invalid-data',
      `${what}: batch.y must be an Int32Array of ${n} labels; got ${b.y?.length}`,
    );
  }
  for (let i = 0; i < n; i++) {
    if (b.y[i] !== 0 && b.y[i] !== 1)
      throw new ModelError('invalid-data', `${what}: label ${b.y[i]} is not 0 or 1`);
  }
}

/** Indices for one epoch: a permutation, or a class-balanced draw with replacement. */
function epochPlan(rng: Rng, data: DataSource, balanced: boolean): number[] {
  const n = data.size;
  if (!balanced) return rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const byClass: number[][] = [[], []];
  for (let i = 0; i < n; i++) byClass[data.labels[i] === 1 ? 1 : 0].push(i);
  if (byClass[0].length === 0 || byClass[1].length === 0) {
    throw new ModelError('invalid-data', 'classBalancedSampling needs both classes in the training set');
  }
  return Array.from({ length: n }, () => {
    const cls = byClass[rng.int(2)];
    return cls[rng.int(cls.length)];
  });
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new ModelError('aborted', 'training was cancelled');
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Probabilities P(disease) for every item of `data` (no augmentation, inference mode), plus the mean
 * loss under `loss` when given.
 * @returns scores [size] in [0, 1], labels [size], mean loss
 */
export async function evaluate(
  model: tf.LayersModel,
  data: DataSource,
  options: { batchSize?: number; loss?: LossConfig; signal?: AbortSignal } = {},
): Promise<{ scores: Float32Array; labels: Int32Array; loss?: number }> {
  const size = inputSizeOf(model);
  const bs = options.batchSize ?? 32;
  const scores = new Float32Array(data.size);
  const labels = new Int32Array(data.size);
  let lossSum = 0;
  for (let start = 0; start < data.size; start += bs) {
    throwIfAborted(options.signal);
    const idx = Array.from({ length: Math.min(bs, data.size - start) }, (_, i) => start + i);
    const b = await data.batch(idx, { augment: false });
    checkBatch(b, idx.length, size, 'evaluate');
    const [p, l] = tf.tidy(() => {
      const logits = model.apply(tf.tensor4d(b.x, [idx.length, size, size, 3]), {
        training: false,
      }) as tf.Tensor2D;
      const prob = tf.softmax(logits).slice([0, 1], [-1, 1]).reshape([-1]);
      const ls = options.loss
        ? tf.sum(perSampleLoss(options.loss, logits, tf.tensor1d(b.y, 'int32')))
        : tf.scalar(0);
      return [prob, ls];
    });
    scores.set((await p.data()) as Float32Array, start);
    lossSum += (await l.data())[0];
    p.dispose();
    l.dispose();
    labels.set(b.y, start);
    await nextTurn();
  }
  return { scores, labels, loss: options.loss ? lossSum / Math.max(1, data.size) : undefined };
}

/**
 * Trains `model` in place.
 * @throws ModelError `aborted` when `signal` fires (between batches), `invalid-config`,
 *   `invalid-data` (bad batch shapes/labels), `diverged` (non-finite loss),
 *   `incompatible-checkpoint` (resume state does not fit the model or optimizer).
 */
export async function trainModel(options: TrainOptions): Promise<TrainResult> {
  const config = validateTrainConfig(options.config);
  const { model, train, val, signal, callbacks } = options;
  const size = inputSizeOf(model);
  if (train.size < 1) throw new ModelError('invalid-data', 'training set is empty');
  throwIfAborted(signal);

  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const names = model.trainableWeights.map((w) => w.originalName);
  const fast =
    options.webgpuFastPath !== false && webGpuFastPathAvailable()
      ? new WebGpuFastPath(model, config.optimizer, vars, names, config.weightDecay ?? 0)
      : undefined;
  const optimizer: StepOptimizer =
    fast?.optimizer ?? new Optimizer(config.optimizer, vars, names, config.weightDecay ?? 0);
  const rng = new Rng(config.seed);
  let history: EpochRecord[] = [];
  let bestValAuc: number | null = null;
  let bestEpoch: number | null = null;
  let sinceBest = 0;
  let startEpoch = 0;

  try {
    if (options.resume) {
      const r = options.resume;
      optimizer.setState(r.optimizer);
      rng.state = r.rngState;
      history = r.history.map((h) => ({ ...h }));
      bestValAuc = r.bestValAuc;
      bestEpoch = r.bestEpoch;
      sinceBest = r.epochsWithoutImprovement;
      startEpoch = r.epochsDone;
    }
    const snapshot = async (epochsDone: number): Promise<TrainState> => ({
      epochsDone,
      rngState: rng.state,
      optimizer: await optimizer.getState(),
      history: history.map((h) => ({ ...h })),
      bestValAuc,
      bestEpoch,
      epochsWithoutImprovement: sinceBest,
    });

    const patience = config.earlyStopping?.patience;
    let stoppedEarly = patience !== undefined && sinceBest >= patience;
    const bs = config.batchSize;
    for (let epoch = startEpoch; epoch < config.epochs && !stoppedEarly; epoch++) {
      const t0 = Date.now();
      const plan = epochPlan(rng, train, config.classBalancedSampling ?? false);
      // A trailing batch of one image would give batch norm a zero variance: drop it.
      const usable = plan.length - (plan.length % bs === 1 && plan.length > 1 ? 1 : 0);
      const batches = Math.ceil(usable / bs);
      let lossSum = 0;
      let lr = config.learningRate;
      // One step in flight: step b's loss is read back after step b + 1 has been loaded and
      // encoded, so on a GPU the CPU's part of step b + 1 (loading and augmenting the batch,
      // recording its ~650 programs) overlaps step b's GPU work instead of leaving the GPU idle.
      // Step b's readback is started before step b + 1 is recorded, so it waits for step b alone.
      // On CPU backends a step has run by the time it returns and nothing changes. The GPU runs
      // exactly the same work in the same order; what moves is when the CPU looks at a loss: a
      // non-finite loss, a callback or an abort from a callback is seen one step later, and that
      // extra step's result is dropped (checkpoints are taken at epoch ends, after every step of
      // the epoch is settled).
      let pending: { loss: tf.Scalar; read: Promise<tf.TypedArray>; batch: number; lr: number } | null = null;
      const settle = async (): Promise<void> => {
        if (!pending) return;
        const p = pending;
        pending = null;
        let loss: number;
        try {
          loss = (await p.read)[0];
        } finally {
          p.loss.dispose();
        }
        if (!Number.isFinite(loss)) {
          throw new ModelError(
            'diverged',
            `loss became ${loss} at epoch ${epoch + 1}, batch ${p.batch + 1}; lower the learning rate`,
          );
        }
        lossSum += loss;
        await callbacks?.onBatchEnd?.({
          epoch: epoch + 1,
          batch: p.batch,
          batches,
          loss,
          learningRate: p.lr,
        });
      };
      try {
        for (let b = 0; b < batches; b++) {
          throwIfAborted(signal);
          const idx = plan.slice(b * bs, Math.min(usable, (b + 1) * bs));
          const seeds = config.augment ? Uint32Array.from(idx, () => rng.uint32()) : undefined;
          const batch = await train.batch(idx, { augment: config.augment ?? false, seeds });
          checkBatch(batch, idx.length, size, 'train');
          lr = learningRateAt(
            config.schedule as ScheduleConfig,
            config.learningRate,
            epoch + b / batches,
            config.epochs,
          );
          const lossT = tf.tidy(() => {
            const x = tf.tensor4d(batch.x, [idx.length, size, size, 3]);
            const y = tf.tensor1d(batch.y, 'int32');
            const step = (): tf.Scalar => {
              const { value, grads } = tf.variableGrads(
                () => meanLoss(config.loss, model.apply(x, { training: true }) as tf.Tensor2D, y),
                vars,
              );
              optimizer.apply(
                vars.map((v) => grads[v.name]),
                lr,
              );
              return value;
            };
            return fast ? fast.run(step) : step();
          });
          if (fast) submitWebGpuWork();
          const previous = settle();
          pending = { loss: lossT, read: startReadback(lossT), batch: b, lr };
          await previous;
          throwIfAborted(signal);
          await nextTurn();
        }
        await settle();
      } finally {
        if (pending) (pending as { loss: tf.Scalar }).loss.dispose();
      }

      let valLoss: number | undefined;
      let valAuc: number | undefined;
      let improved = false;
      let ev: { scores: Float32Array; labels: Int32Array; loss?: number } | undefined;
      if (val && val.size > 0) {
        ev = await evaluate(model, val, { batchSize: config.evalBatchSize ?? bs, loss: config.loss, signal });
        valLoss = ev.loss;
        valAuc = rocAuc(ev.scores, ev.labels);
        if (Number.isFinite(valAuc)) {
          const minDelta = config.earlyStopping?.minDelta ?? 0;
          if (bestValAuc === null || valAuc > bestValAuc + minDelta) {
            improved = true;
            bestValAuc = valAuc;
            bestEpoch = epoch + 1;
            sinceBest = 0;
          } else {
            sinceBest++;
          }
        }
      }
      const record: EpochRecord = {
        epoch: epoch + 1,
        trainLoss: lossSum / Math.max(1, batches),
        valLoss,
        valAuc,
        learningRate: lr,
        seconds: (Date.now() - t0) / 1000,
        improved,
      };
      history.push(record);
      if (patience !== undefined && sinceBest >= patience) stoppedEarly = true;
      const done = epoch + 1;
      await callbacks?.onEpochEnd?.(record, {
        valScores: ev?.scores,
        valLabels: ev?.labels,
        state: () => snapshot(done),
      });
    }
    return { history, bestValAuc, bestEpoch, stoppedEarly, state: await snapshot(history.length) };
  } finally {
    if (fast) fast.dispose();
    else optimizer.dispose();
  }
}
