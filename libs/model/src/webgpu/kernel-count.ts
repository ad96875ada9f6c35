/**
 * Counting GPU programs dispatched by the `webgpu` backend — deterministic, unlike timings, so that
 * kernel counts can be asserted in tests and reported by the bench.
 */
import * as tf from '@tensorflow/tfjs';

/** Programs dispatched while `fn` ran, in total and per WebGPU program name. */
export interface KernelCount {
  /** Compute dispatches: tfjs programs plus our own raw dispatches (raw.ts). */
  total: number;
  byProgram: Map<string, number>;
  /** Buffer-to-buffer copies our raw code recorded (gathers/scatters; no shader runs). */
  copies: number;
}

interface WebGpuBackendLike {
  runWebGPUProgram: (program: { constructor: { name: string } }, ...rest: unknown[]) => unknown;
}

type Listener = { dispatch(name: string): void; copy(n: number): void };
const listeners = new Set<Listener>();

/** Called by raw.ts for each compute dispatch it records outside `runWebGPUProgram`. */
export function noteRawDispatch(name: string): void {
  for (const l of listeners) l.dispatch(name);
}

/** Called by raw.ts for buffer copies it records. */
export function noteRawCopies(n: number): void {
  for (const l of listeners) l.copy(n);
}

/**
 * Runs `fn` on the active `webgpu` backend and counts the GPU programs it dispatches (each call of
 * the backend's `runWebGPUProgram`, i.e. each compute pass, plus our raw dispatches; reshapes and
 * other metadata-only kernels dispatch none). Waits for `fn`'s promise before restoring the backend.
 * @param onDispatch called with each program's name as it is dispatched (for breakdowns)
 * @throws Error when the active backend is not webgpu.
 */
export async function countKernels<T>(
  fn: () => T | Promise<T>,
  onDispatch?: (program: string) => void,
): Promise<{ result: T; count: KernelCount }> {
  if (tf.getBackend() !== 'webgpu')
    throw new Error(`countKernels needs the webgpu backend, not ${tf.getBackend()}`);
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  const original = backend.runWebGPUProgram;
  const byProgram = new Map<string, number>();
  let total = 0;
  let copies = 0;
  const seen = (name: string): void => {
    total++;
    byProgram.set(name, (byProgram.get(name) ?? 0) + 1);
    onDispatch?.(name);
  };
  const listener: Listener = { dispatch: seen, copy: (n) => (copies += n) };
  listeners.add(listener);
  backend.runWebGPUProgram = function (this: unknown, program, ...rest) {
    // Bundlers may suffix class names (BinaryOpProgram2); strip that.
    seen(program.constructor.name.replace(/(Program)\d+$/, '$1'));
    return original.call(this, program, ...rest);
  };
  try {
    const result = await fn();
    return { result, count: { total, byProgram, copies } };
  } finally {
    backend.runWebGPUProgram = original;
    listeners.delete(listener);
  }
}
