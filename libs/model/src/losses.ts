/**
 * Classification losses on 2-logit outputs, all computed from log-softmax so that loss and
 * gradients stay finite when probabilities saturate at 0 or 1.
 *
 * Notation: logits z [N, C], integer labels y [N] in [0, C); log p = logSoftmax(z);
 * pt = p[y]; CE = −log pt. Focal modulation (1 − pt)^γ is computed as exp(γ · log Σ_{j≠y} p_j)
 * (a log-sum-exp over the other classes), never as 1 − pt, which cancels to 0 in float32.
 */
import * as tf from '@tensorflow/tfjs';
import { ModelError } from './errors';

/** Loss configuration. Positive class (disease) = 1. */
export type LossConfig =
  | { kind: 'cross-entropy' }
  /** classWeights[c] multiplies the CE of samples of class c. */
  | { kind: 'weighted-cross-entropy'; classWeights: number[] }
  /** The seed's form: FL = alpha · (1 − pt)^gamma · CE; alpha is a plain multiplier (seed: 2, 2). */
  | { kind: 'focal-seed'; alpha: number; gamma: number }
  /** Lin et al.: FL = alpha_t · (1 − pt)^gamma · CE with alpha_t = alpha for y=1, 1 − alpha for y=0. */
  | { kind: 'focal-balanced'; alpha?: number; gamma?: number };

/** Lin et al.'s defaults for the balanced form. */
export const BALANCED_FOCAL_DEFAULTS = { alpha: 0.25, gamma: 2 } as const;

function invalid(message: string): ModelError {
  return new ModelError('invalid-config', message);
}

/**
 * Validates a loss configuration and fills the balanced form's defaults.
 * @throws ModelError `invalid-config` naming the field.
 */
export function resolveLossConfig(cfg: LossConfig, numClasses = 2): LossConfig {
  if (cfg == null || typeof cfg !== 'object') throw invalid('loss config must be an object');
  const checkGamma = (g: number): void => {
    if (!Number.isFinite(g) || g < 0 || g > 10)
      throw invalid(`loss: "gamma" must be a number in [0, 10]; got ${String(g)}`);
  };
  switch (cfg.kind) {
    case 'cross-entropy':
      return { kind: 'cross-entropy' };
    case 'weighted-cross-entropy':
      if (!Array.isArray(cfg.classWeights) || cfg.classWeights.length !== numClasses) {
        throw invalid(`loss: "classWeights" must have ${numClasses} entries (normal, disease)`);
      }
      cfg.classWeights.forEach((w, i) => {
        if (!Number.isFinite(w) || w < 0)
          throw invalid(`loss: "classWeights[${i}]" must be a finite number ≥ 0; got ${String(w)}`);
      });
      return { kind: 'weighted-cross-entropy', classWeights: [...cfg.classWeights] };
    case 'focal-seed':
      if (!Number.isFinite(cfg.alpha) || cfg.alpha <= 0)
        throw invalid(`loss: "alpha" must be a number > 0; got ${String(cfg.alpha)}`);
      checkGamma(cfg.gamma);
      return { kind: 'focal-seed', alpha: cfg.alpha, gamma: cfg.gamma };
    case 'focal-balanced': {
      const alpha = cfg.alpha ?? BALANCED_FOCAL_DEFAULTS.alpha;
      const gamma = cfg.gamma ?? BALANCED_FOCAL_DEFAULTS.gamma;
      if (!Number.isFinite(alpha) || alpha < 0 || alpha > 1)
        throw invalid(`loss: "alpha" must be in [0, 1] for focal-balanced; got ${String(alpha)}`);
      checkGamma(gamma);
      return { kind: 'focal-balanced', alpha, gamma };
    }
    default:
      throw invalid(
        `loss: "kind" must be one of cross-entropy, weighted-cross-entropy, focal-seed, focal-balanced; got "${String((cfg as { kind?: unknown }).kind)}"`,
      );
  }
}

/**
 * Per-sample loss, shape [N].
 * @param logits [N, C] float32
 * @param labels [N] int32 class indices (1 = disease)
 */
export function perSampleLoss(cfg: LossConfig, logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const c = logits.shape[1];
    const logp = tf.logSoftmax(logits);
    const onehot = tf.oneHot(tf.cast(labels, 'int32'), c).toFloat();
    const logpt = tf.sum(tf.mul(logp, onehot), 1);
    const ce = tf.neg(logpt);
    switch (cfg.kind) {
      case 'cross-entropy':
        return ce as tf.Tensor1D;
      case 'weighted-cross-entropy': {
        const w = tf.sum(tf.mul(onehot, tf.tensor1d(cfg.classWeights)), 1);
        return tf.mul(w, ce) as tf.Tensor1D;
      }
      case 'focal-seed':
      case 'focal-balanced': {
        const gamma = cfg.gamma ?? BALANCED_FOCAL_DEFAULTS.gamma;
        let modulated = ce;
        if (gamma !== 0) {
          // log(1 − pt) = logsumexp over the other classes of log p (masked with −1e4, finite).
          const logRest = tf.logSumExp(tf.add(logp, tf.mul(onehot, -1e4)), 1);
          modulated = tf.mul(tf.exp(tf.mul(logRest, gamma)), ce);
        }
        if (cfg.kind === 'focal-seed') return tf.mul(modulated, cfg.alpha) as tf.Tensor1D;
        const alpha = cfg.alpha ?? BALANCED_FOCAL_DEFAULTS.alpha;
        // Column 1 (disease) gets alpha, column 0 gets 1 − alpha (binary: alpha_t per sample).
        const alphaPerClass = tf.tensor1d(Array.from({ length: c }, (_, k) => (k === 1 ? alpha : 1 - alpha)));
        const alphaT = tf.sum(tf.mul(onehot, alphaPerClass), 1);
        return tf.mul(alphaT, modulated) as tf.Tensor1D;
      }
    }
  });
}

/** Mean loss over the batch (scalar). Shapes as in `perSampleLoss`. */
export function meanLoss(cfg: LossConfig, logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.mean(perSampleLoss(cfg, logits, labels)) as tf.Scalar);
}
