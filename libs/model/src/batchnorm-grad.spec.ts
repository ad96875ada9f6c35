import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backends';
import { Rng } from './rng';

/**
 * Closed-form batch-norm backward pass in float64 (training mode, batch statistics, per channel):
 *   x̂ = (x − μ)/σ, dγ = Σ dy·x̂, dβ = Σ dy, dx = γ/(mσ) · (m·dy − Σdy − x̂·Σ dy·x̂)
 */
function reference(x: Float32Array, dy: Float32Array, gamma: number[], c: number, eps: number) {
  const m = x.length / c;
  const dx = new Float64Array(x.length);
  const dgamma = new Float64Array(c);
  const dbeta = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    let mu = 0;
    for (let i = ch; i < x.length; i += c) mu += x[i];
    mu /= m;
    let v = 0;
    for (let i = ch; i < x.length; i += c) v += (x[i] - mu) ** 2;
    v /= m;
    const sigma = Math.sqrt(v + eps);
    let sdy = 0;
    let sdyx = 0;
    for (let i = ch; i < x.length; i += c) {
      const xh = (x[i] - mu) / sigma;
      sdy += dy[i];
      sdyx += dy[i] * xh;
    }
    dgamma[ch] = sdyx;
    dbeta[ch] = sdy;
    for (let i = ch; i < x.length; i += c) {
      const xh = (x[i] - mu) / sigma;
      dx[i] = (gamma[ch] / (m * sigma)) * (m * dy[i] - sdy - xh * sdyx);
    }
  }
  return { dx, dgamma, dbeta };
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
}

describe('FusedBatchNorm gradient', () => {
  it.each(['wasm', 'cpu'] as const)(
    'matches the closed-form backward pass through tf.moments + batchNorm (%s)',
    async (backend) => {
      await initBackend(backend);
      const shape: [number, number, number, number] = [3, 5, 4, 6];
      const rng = new Rng(4);
      const n = shape.reduce((a, b) => a * b, 1);
      const x = Float32Array.from({ length: n }, () => rng.normal() * 2 + 1);
      const dy = Float32Array.from({ length: n }, () => rng.normal());
      const gamma = Array.from({ length: 6 }, (_, i) => 0.5 + i * 0.3);
      const eps = 1e-3;
      const before = tf.memory().numTensors;
      const [gx, gg, gb] = tf.tidy(() => {
        const f = (xt: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor => {
          const { mean, variance } = tf.moments(xt, [0, 1, 2]);
          return tf.sum(tf.mul(tf.batchNorm(xt, mean, variance, b, g, eps), tf.tensor(dy, shape)));
        };
        const grads = tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)([
          tf.tensor(x, shape),
          tf.tensor1d(gamma),
          tf.zeros([6]),
        ]);
        return grads.map((t) => t.dataSync());
      });
      expect(tf.memory().numTensors).toBe(before);
      const ref = reference(x, dy, gamma, 6, eps);
      expect(maxRel(gx, ref.dx)).toBeLessThan(1e-4);
      expect(maxRel(gg, ref.dgamma)).toBeLessThan(1e-4);
      expect(maxRel(gb, ref.dbeta)).toBeLessThan(1e-5);
    },
  );
});
