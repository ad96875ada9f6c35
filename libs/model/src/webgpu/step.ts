/**
 * One training step exactly as `trainModel` runs it (variableGrads of the mean loss, then the
 * optimizer), for kernel counts and benchmarks without the data pipeline around it.
 */
import * as tf from '@tensorflow/tfjs';
import { meanLoss, type LossConfig } from '../losses';
import { Optimizer, type OptimizerConfig } from '../optimizers';
import { WebGpuFastPath, type StepOptimizer } from './fast-path';
import { FusedAdam } from './fused-adam';
import { submitWebGpuWork } from './raw';

/** A bound training step; `dispose()` frees the optimizer state. */
export interface TrainingStep {
  /** Runs one step on x [N, S, S, 3] and labels y [N]; resolves to the loss (waits for the GPU). */
  run(x: tf.Tensor4D, y: tf.Tensor1D): Promise<number>;
  /**
   * Enqueues one step and submits it to the GPU without waiting: the loss tensor (the caller
   * disposes it), to read while the next step runs, as `trainModel` does.
   */
  enqueue(x: tf.Tensor4D, y: tf.Tensor1D): tf.Scalar;
  dispose(): void;
}

/**
 * Binds a step to a model: focal loss (seed form, α = 2, γ = 2) and Adam unless given.
 * `fast: true` is trainModel's webgpu fast path (WebGpuFastPath: one optimizer program, fused batch
 * norm, one program for the moving averages); `fusedAdam: true` (older, for comparison) uses
 * `FusedAdam` (3 GPU programs per variable) instead of `Optimizer`. Neither: the portable path.
 * @param lr learning rate per step (> 0)
 */
export function makeTrainingStep(
  model: tf.LayersModel,
  opts: {
    optimizer?: OptimizerConfig;
    loss?: LossConfig;
    lr?: number;
    fusedAdam?: boolean;
    fast?: boolean;
    weightDecay?: number;
  } = {},
): TrainingStep {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const names = model.trainableWeights.map((w) => w.originalName);
  const cfg = opts.optimizer ?? { kind: 'adam' };
  const wd = opts.weightDecay ?? 0;
  const fast = opts.fast ? new WebGpuFastPath(model, cfg, vars, names, wd) : undefined;
  const optimizer: Pick<StepOptimizer, 'apply' | 'dispose'> =
    fast?.optimizer ?? (opts.fusedAdam ? new FusedAdam(vars, names) : new Optimizer(cfg, vars, names, wd));
  const loss: LossConfig = opts.loss ?? { kind: 'focal-seed', alpha: 2, gamma: 2 };
  const lr = opts.lr ?? 1e-4;
  const body = (x: tf.Tensor4D, y: tf.Tensor1D): tf.Scalar => {
    const { value, grads } = tf.variableGrads(
      () => meanLoss(loss, model.apply(x, { training: true }) as tf.Tensor2D, y),
      vars,
    );
    optimizer.apply(
      vars.map((v) => grads[v.name]),
      lr,
    );
    return value;
  };
  const enqueue = (x: tf.Tensor4D, y: tf.Tensor1D): tf.Scalar => {
    const lossT = tf.tidy(() => (fast ? fast.run(() => body(x, y)) : body(x, y)));
    submitWebGpuWork();
    return lossT;
  };
  return {
    enqueue,
    async run(x, y) {
      const lossT = enqueue(x, y);
      const v = (await lossT.data())[0];
      lossT.dispose();
      return v;
    },
    dispose: () => (fast ? fast.dispose() : optimizer.dispose()),
  };
}
