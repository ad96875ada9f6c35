/**
 * Training kernels for the tfjs `webgpu` backend (see each module). `registerWebGpuTrainingKernels`
 * is called by `initBackend('webgpu')`.
 */
import { registerWebGpuConvFilterGradient } from './conv-backprop-filter';
import { registerWebGpuBatchNormTraining } from './batchnorm-train';
import { registerWebGpuFusedAdam } from './fused-adam';

export { filterGradPath, registerWebGpuConvFilterGradient } from './conv-backprop-filter';
export type { FilterGradGeometry, FilterGradPath } from './conv-backprop-filter';
export { countKernels } from './kernel-count';
export type { KernelCount } from './kernel-count';

/**
 * Replaces stock webgpu kernels with the faster training kernels of this folder. Process-wide,
 * idempotent; needs `@tensorflow/tfjs-backend-webgpu` imported first.
 */
export function registerWebGpuTrainingKernels(): void {
  registerWebGpuConvFilterGradient();
  registerWebGpuFusedAdam();
  registerWebGpuBatchNormTraining();
}
export { makeTrainingStep } from './step';
export type { TrainingStep } from './step';
export { FusedAdam, registerWebGpuFusedAdam } from './fused-adam';
export type { FusedAdamConfig } from './fused-adam';
export { batchNormTraining, patchLayersBatchNorm, registerWebGpuBatchNormTraining } from './batchnorm-train';
export type { BatchNormTrainingResult } from './batchnorm-train';
