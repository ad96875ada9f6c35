/**
 * The gradient of `Mean` without a CPU-side array. tfjs-core's is dy (reshaped) · ones(x.shape) / n,
 * and `ones` is a typed array filled on the CPU and uploaded: for ResNet50's global average pooling
 * at 224 px, batch 32, 3.2 M floats (12.8 MB) built, copied through a fresh staging buffer and
 * collected every training step — ~20 ms of CPU per step on the H200 machine's host
 * (bench/gpu-train/RESULTS.md). On webgpu this computes broadcastTo(dy, x.shape) / n instead: the
 * same two programs, the same values (multiplying by 1 is exact), no upload. Other backends keep
 * tfjs-core's expression.
 */
import * as tf from '@tensorflow/tfjs';
import { overrideGradient } from './relu-grad';

let registered = false;

/** Overrides the Mean gradient (process-wide, every backend; see the module doc). Idempotent. */
export function registerWebGpuMeanGrad(): void {
  if (registered) return;
  overrideGradient({
    kernelName: 'Mean',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
      const n = axes.reduce((acc, a) => acc * x.shape[a], 1);
      return {
        x: () => {
          const expanded = x.shape.slice();
          for (const a of axes) expanded[a] = 1;
          const d = tf.reshape(dy as tf.Tensor, expanded);
          return tf.getBackend() === 'webgpu'
            ? tf.div(tf.broadcastTo(d, x.shape), n)
            : tf.div(tf.mul(d, tf.ones(x.shape, 'float32')), n);
        },
      };
    },
  });
  registered = true;
}
