/**
 * The ReLU gradient as one GPU program on webgpu: ∂x = x > 0 ? dy : 0, instead of tfjs-core's
 * mul(dy, cast(step(x))) (two programs; the cast is a no-op). The gradient override is process-wide;
 * on every other backend it computes exactly the stock expression.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGpuProgramRunner } from './raw';
import { ElementwiseProgram } from './fused-adam';

type TensorInfo = tf.TensorInfo;

let registered = false;

/** tf.registerGradient for a kernel that already has one, without the registry's warning. */
export function overrideGradient(config: tf.GradConfig): void {
  const warn = console.warn;
  console.warn = (...args: unknown[]): void => {
    if (typeof args[0] === 'string' && args[0].includes(`Overriding the gradient for '${config.kernelName}'`))
      return;
    warn(...args);
  };
  try {
    tf.registerGradient(config);
  } finally {
    console.warn = warn;
  }
}

/** Registers the kernel and the Relu gradient that uses it on webgpu. Idempotent. */
export function registerWebGpuReluGrad(): void {
  if (registered) return;
  tf.registerKernel({
    kernelName: 'FundusReluGrad',
    backendName: 'webgpu',
    kernelFunc: (({
      inputs,
      backend,
    }: {
      inputs: Record<string, TensorInfo>;
      backend: WebGpuProgramRunner;
    }) => {
      const prog = new ElementwiseProgram(
        inputs.dy.shape,
        ['DY', 'X'],
        '',
        'let r = select(0.0, DY[index], X[index] > 0.0);',
        'fundus_relu_grad',
      );
      return backend.runWebGPUProgram(prog, [inputs.dy, inputs.x], 'float32');
    }) as unknown as tf.KernelFunc,
  });
  overrideGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      const d = dy as tf.Tensor;
      return {
        x: () =>
          tf.getBackend() === 'webgpu' && x.dtype === 'float32' && d.dtype === 'float32'
            ? (tf.engine().runKernel('FundusReluGrad', { dy: d, x }) as tf.Tensor)
            : tf.mul(d, tf.cast(tf.step(x), 'float32')),
      };
    },
  });
  registered = true;
}
