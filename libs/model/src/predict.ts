import * as tf from '@tensorflow/tfjs';
import { ModelError } from './errors';
import { tryCompileInference, type InferenceGraph } from './inference';
import { startReadback, submitWebGpuWork } from './webgpu';

/**
 * P(disease) = softmax(logits)[:, 1] for `n` preprocessed images.
 * @param x NHWC float32, length n × S × S × 3 with S the model's input size
 * @param batchSize images per forward pass (default 32)
 * @param compiled the model's `tryCompileInference` result, for callers that predict many times
 *   with unchanged weights (kept, not disposed); omitted: compiled for this call only
 * @returns Float32Array [n] in [0, 1]
 */
export async function predictProbabilities(
  model: tf.LayersModel,
  x: Float32Array,
  batchSize = 32,
  compiled?: InferenceGraph | null,
): Promise<Float32Array> {
  const s = model.inputs[0].shape[1] as number;
  const per = s * s * 3;
  if (x.length % per !== 0) {
    throw new ModelError('invalid-data', `input length ${x.length} is not a multiple of ${s}×${s}×3`);
  }
  const n = x.length / per;
  const out = new Float32Array(n);
  // Batch norm folded into the convolutions (inference.ts); any other model runs layer by layer.
  const owned = compiled === undefined;
  const graph = owned ? tryCompileInference(model) : compiled;
  // Each batch's probabilities are read while the next batch runs: on a GPU, batch k's readback
  // is started as soon as batch k is submitted (so it waits for batch k alone), then batch k + 1 is
  // encoded and submitted, then batch k's values are awaited. On CPU backends nothing changes.
  let pending: { p: tf.Tensor; read: Promise<tf.TypedArray>; at: number } | null = null;
  const settle = async (): Promise<void> => {
    if (!pending) return;
    const { p, read, at } = pending;
    pending = null;
    try {
      out.set(await read, at);
    } finally {
      p.dispose();
    }
  };
  try {
    for (let i = 0; i < n; i += batchSize) {
      const m = Math.min(batchSize, n - i);
      const p = tf.tidy(() => {
        const input = tf.tensor4d(x.subarray(i * per, (i + m) * per), [m, s, s, 3]);
        const logits = graph ? graph.logits(input) : (model.apply(input, { training: false }) as tf.Tensor2D);
        return tf.softmax(logits).slice([0, 1], [-1, 1]).reshape([-1]);
      });
      submitWebGpuWork();
      const previous = settle();
      pending = { p, read: startReadback(p), at: i };
      await previous;
    }
    await settle();
  } finally {
    (pending as { p: tf.Tensor } | null)?.p.dispose();
    if (owned) graph?.dispose();
  }
  return out;
}
