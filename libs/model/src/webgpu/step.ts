/**
 * One training step exactly as `trainModel` runs it (variableGrads of the mean loss, then our
 * optimizer), for kernel counts and benchmarks without the data pipeline around it.
 */
import * as tf from '@tensorflow/tfjs';
import { meanLoss, type LossConfig } from '../losses';
import { Optimizer, type OptimizerConfig } from '../optimizers';
import { FusedAdam } from './fused-adam';

/** A bound training step; `dispose()` frees the optimizer state. */
export interface TrainingStep {
  /** Runs one step on x [N, S, S, 3] and labels y [N]; resolves to the loss (waits for the GPU). */
  run(x: tf.Tensor4D, y: tf.Tensor1D): Promise<number>;
  dispose(): void;
}

/**
 * Binds a step to a model: focal loss (seed form, α = 2, γ = 2) and Adam unless given.
 * `fusedAdam: true` uses `FusedAdam` (3 GPU programs per variable) instead of `Optimizer`.
 * @param lr learning rate per step (> 0)
 */
export function makeTrainingStep(
  model: tf.LayersModel,
  opts: { optimizer?: OptimizerConfig; loss?: LossConfig; lr?: number; fusedAdam?: boolean } = {},
): TrainingStep {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const names = model.trainableWeights.map((w) => w.originalName);
  const optimizer = opts.fusedAdam
    ? new FusedAdam(vars, names)
    : new Optimizer(opts.optimizer ?? { kind: 'adam' }, vars, names, 0);
  const loss: LossConfig = opts.loss ?? { kind: 'focal-seed', alpha: 2, gamma: 2 };
  const lr = opts.lr ?? 1e-4;
  return {
    async run(x, y) {
      const lossT = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => meanLoss(loss, model.apply(x, { training: true }) as tf.Tensor2D, y),
          vars,
        );
        optimizer.apply(
          vars.map((v) => grads[v.name]),
          lr,
        );
        return value;
      });
      const v = (await lossT.data())[0];
      lossT.dispose();
      return v;
    },
    dispose: () => optimizer.dispose(),
  };
}
