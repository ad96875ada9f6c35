import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backends';
import { ModelError } from './errors';
import { LossConfig, meanLoss, perSampleLoss, resolveLossConfig } from './losses';

const logits = [
  [2.0, -1.0],
  [0.3, 0.1],
  [-0.5, 1.5],
  [1.0, 1.0],
  [-3.0, 4.0],
];
const labels = [0, 1, 1, 0, 0];

/** Independent float64 reference: softmax by hand. */
function refProb(z: number[], y: number): number {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  return e[y] / e.reduce((a, b) => a + b, 0);
}

function lossValues(cfg: LossConfig, z: number[][] = logits, y: number[] = labels): number[] {
  return tf.tidy(() => Array.from(perSampleLoss(cfg, tf.tensor2d(z), tf.tensor1d(y, 'int32')).dataSync()));
}

describe('losses', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('cross-entropy equals −log softmax of the true class', () => {
    const got = lossValues({ kind: 'cross-entropy' });
    got.forEach((v, i) => expect(v).toBeCloseTo(-Math.log(refProb(logits[i], labels[i])), 5));
  });

  it('focal loss with gamma = 0 and seed alpha = 1 equals cross-entropy', () => {
    const ce = lossValues({ kind: 'cross-entropy' });
    const fl = lossValues({ kind: 'focal-seed', alpha: 1, gamma: 0 });
    fl.forEach((v, i) => expect(v).toBeCloseTo(ce[i], 6));
  });

  it('seed form: alpha multiplies the loss, (1 − pt)^gamma modulates it', () => {
    const got = lossValues({ kind: 'focal-seed', alpha: 2, gamma: 2 });
    got.forEach((v, i) => {
      const pt = refProb(logits[i], labels[i]);
      expect(v).toBeCloseTo(2 * (1 - pt) ** 2 * -Math.log(pt), 5);
    });
  });

  it('balanced form weights positives by alpha and negatives by 1 − alpha (defaults 0.25, 2)', () => {
    const cfg = resolveLossConfig({ kind: 'focal-balanced' });
    expect(cfg).toEqual({ kind: 'focal-balanced', alpha: 0.25, gamma: 2 });
    const got = lossValues(cfg);
    got.forEach((v, i) => {
      const pt = refProb(logits[i], labels[i]);
      const alphaT = labels[i] === 1 ? 0.25 : 0.75;
      expect(v).toBeCloseTo(alphaT * (1 - pt) ** 2 * -Math.log(pt), 5);
    });
    // Same logits, flipped roles: a positive and a negative with equal pt differ exactly by 0.25 / 0.75.
    const pair = lossValues(
      { kind: 'focal-balanced', alpha: 0.25, gamma: 2 },
      [
        [0.0, 1.0],
        [1.0, 0.0],
      ],
      [1, 0],
    );
    expect(pair[0] / pair[1]).toBeCloseTo(0.25 / 0.75, 5);
  });

  it('class-weighted cross-entropy scales each class', () => {
    const ce = lossValues({ kind: 'cross-entropy' });
    const got = lossValues({ kind: 'weighted-cross-entropy', classWeights: [0.5, 3] });
    got.forEach((v, i) => expect(v).toBeCloseTo(ce[i] * (labels[i] === 1 ? 3 : 0.5), 5));
  });

  it.each<[string, LossConfig]>([
    ['cross-entropy', { kind: 'cross-entropy' }],
    ['weighted-cross-entropy', { kind: 'weighted-cross-entropy', classWeights: [1, 2] }],
    ['focal-seed', { kind: 'focal-seed', alpha: 2, gamma: 2 }],
    ['focal-seed gamma 0.5', { kind: 'focal-seed', alpha: 1, gamma: 0.5 }],
    ['focal-balanced', { kind: 'focal-balanced', alpha: 0.25, gamma: 2 }],
  ])('%s: loss and gradients stay finite at extreme logits', (_n, cfg) => {
    const z = [
      [100, -100],
      [-100, 100],
      [100, -100],
      [-100, 100],
      [1e4, -1e4],
      [30, 30],
    ];
    const y = [0, 1, 1, 0, 1, 0];
    const before = tf.memory().numTensors;
    const { loss, grad } = tf.tidy(() => {
      const zt = tf.tensor2d(z);
      const yt = tf.tensor1d(y, 'int32');
      const f = (a: tf.Tensor): tf.Scalar => meanLoss(cfg, a as tf.Tensor2D, yt);
      const g = tf.grad(f)(zt);
      return { loss: f(zt).dataSync()[0], grad: Array.from(g.dataSync()) };
    });
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeGreaterThan(0);
    grad.forEach((v) => expect(Number.isFinite(v)).toBe(true));
    // Confidently right samples (rows 0 and 1) contribute ~0 gradient; confidently wrong ones a bounded one.
    expect(Math.abs(grad[0])).toBeLessThan(1e-6);
    expect(Math.abs(grad[4])).toBeGreaterThan(0.01);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad configurations with ModelError invalid-config', () => {
    const bad: unknown[] = [
      { kind: 'focal' },
      { kind: 'focal-seed', alpha: 0, gamma: 2 },
      { kind: 'focal-seed', alpha: 2, gamma: -1 },
      { kind: 'focal-balanced', alpha: 1.5 },
      { kind: 'weighted-cross-entropy', classWeights: [1] },
    ];
    for (const b of bad) {
      expect(() => resolveLossConfig(b as LossConfig)).toThrow(ModelError);
      try {
        resolveLossConfig(b as LossConfig);
      } catch (e) {
        expect((e as ModelError).code).toBe('invalid-config');
      }
    }
    expect(() => resolveLossConfig({ kind: 'focal-balanced', alpha: 1.5 })).toThrow(
      /"alpha" must be in \[0, 1\]/,
    );
  });
});
