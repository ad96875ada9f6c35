/**
 * Training kernels for the tfjs `webgpu` backend (see each module). `registerWebGpuTrainingKernels`
 * is called by `initBackend('webgpu')`.
 */
import * as tf from '@tensorflow/tfjs';
import { registerWebGpuChannelSum } from './channel-reduce';
import { registerWebGpuConvGemm } from './conv-forward';
import { registerWebGpuConvInputGradient } from './conv-input-grad';
import { registerWebGpuConvFilterGradient } from './conv-backprop-filter';
import { registerWebGpuBatchNormTraining } from './batchnorm-train';
import { registerWebGpuFusedAdam } from './fused-adam';
import { registerWebGpuMeanGrad } from './mean-grad';
import { registerWebGpuReluGrad } from './relu-grad';

export {
  filterGradPlan,
  registerWebGpuConvFilterGradient,
  stockConvFilterGradient,
} from './conv-backprop-filter';
export type { FilterGradGeometry, FilterGradPlan } from './conv-backprop-filter';
export {
  convInputGradProgram,
  forceConvInputGradProgram,
  registerWebGpuConvInputGradient,
  TILED_INPUT_GRAD_MIN_ELEMENTS,
} from './conv-input-grad';
export {
  ConvGemmProgram,
  registerWebGpuConvGemm,
  forwardConvUsesGemm,
  useWebGpuConvGemm,
  webGpuConvGemmEnabled,
  webGpuConvGemmMode,
} from './conv-forward';
export type { ConvGemmMode } from './conv-forward';
export type { ConvInputGradProgram } from './conv-input-grad';
export { countKernels } from './kernel-count';
export { startReadback, submitWebGpuWork } from './raw';
export type { KernelCount } from './kernel-count';

/**
 * Replaces stock webgpu kernels with the faster training kernels of this folder. Process-wide,
 * idempotent; needs `@tensorflow/tfjs-backend-webgpu` imported first.
 */
export function registerWebGpuTrainingKernels(): void {
  // Programs recorded before each queue submit (tfjs: 15). A submit cost ~0.2 ms of CPU on the H200
  // machine's host, ~44 per ResNet50 step at 15; the GPU starts each batch a little later instead.
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', SUBMIT_BATCH_SIZE);
  registerWebGpuConvInputGradient();
  registerWebGpuConvGemm();
  registerWebGpuConvFilterGradient();
  registerWebGpuFusedAdam();
  registerWebGpuBatchNormTraining();
  registerWebGpuReluGrad();
  registerWebGpuMeanGrad();
  registerWebGpuChannelSum();
}

/** WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE set by registerWebGpuTrainingKernels. */
export const SUBMIT_BATCH_SIZE = 64;
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
export { overrideGradient, registerWebGpuReluGrad } from './relu-grad';
export { registerWebGpuMeanGrad } from './mean-grad';
export {
  ChannelCombineProgram,
  channelReducePlan,
  ChannelReduceProgram,
  registerWebGpuChannelSum,
  runChannelReduce,
} from './channel-reduce';
export type { ChannelReduceKind, ChannelReducePlan } from './channel-reduce';
export type { BatchNormTrainingResult } from './batchnorm-train';
