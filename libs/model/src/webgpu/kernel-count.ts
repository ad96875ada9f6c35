/**
 * Counting GPU programs dispatched by the `webgpu` backend — deterministic, unlike timings, so that
 * kernel counts can be asserted in tests and reported by the bench.
 */
import * as tf from '@tensorflow/tfjs';

/** Programs dispatched while `fn` ran, in total and per WebGPU program name. */
export interface KernelCount {
  total: number;
  byProgram: Map<string, number>;
}

interface WebGpuBackendLike {
  runWebGPUProgram: (program: { constructor: { name: string } }, ...rest: unknown[]) => unknown;
}

/**
 * Runs `fn` on the active `webgpu` backend and counts the GPU programs it dispatches (each call of
 * the backend's `runWebGPUProgram`, i.e. each compute pass; reshapes and other metadata-only kernels
 * dispatch none). Waits for `fn`'s promise before restoring the backend.
 * @throws Error when the active backend is not webgpu.
 */
export async function countKernels<T>(fn: () => T | Promise<T>): Promise<{ result: T; count: KernelCount }> {
  if (tf.getBackend() !== 'webgpu')
    throw new Error(`countKernels needs the webgpu backend, not ${tf.getBackend()}`);
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  const original = backend.runWebGPUProgram;
  const byProgram = new Map<string, number>();
  let total = 0;
  backend.runWebGPUProgram = function (this: unknown, program, ...rest) {
    total++;
    // Bundlers may suffix class names (BinaryOpProgram2); strip that.
    const name = program.constructor.name.replace(/(Program)\d+$/, '$1');
    byProgram.set(name, (byProgram.get(name) ?? 0) + 1);
    return original.call(this, program, ...rest);
  };
  try {
    const result = await fn();
    return { result, count: { total, byProgram } };
  } finally {
    backend.runWebGPUProgram = original;
  }
}
