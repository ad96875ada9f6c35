/**
 * Training kernels for the tfjs `webgpu` backend (see each module). `registerWebGpuTrainingKernels`
 * is called by `initBackend('webgpu')`.
 */
import * as tf from '@tensorflow/tfjs';
import { registerWebGpuChannelSum } from './channel-reduce';
import { registerWebGpuConvFilterGradient } from './conv-backprop-filter';
import { registerWebGpuBatchNormTraining } from './batchnorm-train';
import { registerWebGpuFusedAdam } from './fused-adam';
import { registerWebGpuReluGrad } from './relu-grad';

export {
  filterGradPlan,
  registerWebGpuConvFilterGradient,
  stockConvFilterGradient,
} from './conv-backprop-filter';
export type { FilterGradGeometry, FilterGradPlan } from './conv-backprop-filter';
export { countKernels } from './kernel-count';
export type { KernelCount } from './kernel-count';

/**
 * tfjs-backend-webgpu 4.x computes `Conv2DBackpropInput` with a naive program (one thread per
 * input-gradient element looping over kh·kw·Cout, no tiling) unless the flag
 * WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE is off; then its tiled matrix-product program
 * (Conv2DDerInputMMProgram, channels-last) runs instead. Both agree with the cpu backend to < 1e-6
 * relative on ResNet50's shapes (conv-input-grad.spec.ts). Process-wide.
 */
export function useTiledConvInputGradient(): void {
  tf.env().set('WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE', false);
}

/**
 * Replaces stock webgpu kernels with the faster training kernels of this folder. Process-wide,
 * idempotent; needs `@tensorflow/tfjs-backend-webgpu` imported first.
 */
export function registerWebGpuTrainingKernels(): void {
  useTiledConvInputGradient();
  registerWebGpuConvFilterGradient();
  registerWebGpuFusedAdam();
  registerWebGpuBatchNormTraining();
  registerWebGpuReluGrad();
  registerWebGpuChannelSum();
}
export { makeTrainingStep } from './step';
export type { TrainingStep } from './step';
export { FusedAdam, registerWebGpuFusedAdam } from './fused-adam';
export type { FusedAdamConfig } from './fused-adam';
export {
  batchNormTraining,
  FlatMovingAverages,
  patchLayersBatchNorm,
  registerWebGpuBatchNormTraining,
  withFusedBatchNorm,
} from './batchnorm-train';
export { FlatOptimizer } from './flat-optimizer';
export { WebGpuFastPath, webGpuFastPathAvailable } from './fast-path';
export type { StepOptimizer } from './fast-path';
export { registerWebGpuReluGrad } from './relu-grad';
export {
  ChannelCombineProgram,
  channelReducePlan,
  ChannelReduceProgram,
  registerWebGpuChannelSum,
  runChannelReduce,
} from './channel-reduce';
export type { ChannelReduceKind, ChannelReducePlan } from './channel-reduce';
export type { BatchNormTrainingResult } from './batchnorm-train';
