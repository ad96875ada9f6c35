/**
 * The fast training path on the webgpu backend, as `trainModel` and `makeTrainingStep` use it:
 * - the optimizer (Adam/AdamW/SGD) as one GPU program over all variables (FlatOptimizer);
 * - tfjs-layers' batch norm as `batchNormTraining` (2 programs forward, 2 backward), with the ReLU
 *   layer after it fused in where that is its only consumer;
 * - all batch-norm moving-average updates of a step as one GPU program (FlatMovingAverages);
 * - no input gradient for the convolutions that read the image (input-conv.ts);
 * plus what `initBackend('webgpu')` registers for every webgpu model (filter gradient, ReLU gradient).
 * Same maths as the portable path (optimizers.ts, tfjs-layers), to float32 rounding.
 */
import * as tf from '@tensorflow/tfjs';
import type { OptimizerConfig, OptimizerState } from '../optimizers';
import { FlatMovingAverages, withFusedBatchNorm } from './batchnorm-train';
import { FlatOptimizer } from './flat-optimizer';
import { withoutImageInputGradient } from './input-conv';

/** What the training loop needs of an optimizer (`Optimizer` and `FlatOptimizer` both fit). */
export interface StepOptimizer {
  apply(grads: tf.Tensor[], lr: number): void;
  getState(): Promise<OptimizerState>;
  setState(state: OptimizerState): void;
  dispose(): void;
}

/** True when the active backend is webgpu with this folder's kernels registered. */
export function webGpuFastPathAvailable(): boolean {
  return tf.getBackend() === 'webgpu' && tf.getKernel('FundusBatchNormGradX', 'webgpu') != null;
}

/** A model's fast webgpu training step state; `dispose()` when training ends. */
export class WebGpuFastPath {
  readonly optimizer: FlatOptimizer;
  private readonly movingAverages = new FlatMovingAverages();

  constructor(
    private readonly model: tf.LayersModel,
    cfg: OptimizerConfig,
    vars: tf.Variable[],
    names: string[],
    weightDecay: number,
  ) {
    if (!webGpuFastPathAvailable()) throw new Error('the webgpu fast path needs initBackend("webgpu")');
    this.optimizer = new FlatOptimizer(cfg, vars, names, weightDecay);
  }

  /**
   * Runs one step's body — forward, backward and `optimizer.apply` — with fused batch norm, then
   * applies all moving-average updates in one program. Call inside the step's tf.tidy.
   */
  run<T>(body: () => T): T {
    return withoutImageInputGradient(this.model, () =>
      withFusedBatchNorm(body, this.movingAverages, this.model),
    );
  }

  dispose(): void {
    this.optimizer.dispose();
    this.movingAverages.dispose();
  }
}
