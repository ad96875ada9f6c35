/**
 * Training kernels for the tfjs `webgpu` backend (see each module). `registerWebGpuTrainingKernels`
 * is called by `initBackend('webgpu')`.
 */
import { registerWebGpuChannelSum } from './channel-reduce';
import { registerWebGpuConvGemm } from './conv-forward';
import { registerWebGpuConvInputGradient } from './conv-input-grad';
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
export {
  convInputGradProgram,
  forceConvInputGradProgram,
  registerWebGpuConvInputGradient,
  TILED_INPUT_GRAD_MIN_ELEMENTS,
} from './conv-input-grad';
export {
  ConvGemmProgram,
  registerWebGpuConvGemm,
  useWebGpuConvGemm,
  webGpuConvGemmEnabled,
} from './conv-forward';
export type { ConvInputGradProgram } from './conv-input-grad';
export { countKernels } from './kernel-count';
export { submitWebGpuWork } from './raw';
export type { KernelCount } from './kernel-count';

/**
 * Replaces stock webgpu kernels with the faster training kernels of this folder. Process-wide,
 * idempotent; needs `@tensorflow/tfjs-backend-webgpu` imported first.
 */
export function registerWebGpuTrainingKernels(): void {
  registerWebGpuConvInputGradient();
  registerWebGpuConvGemm();
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
