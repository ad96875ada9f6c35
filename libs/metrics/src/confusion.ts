import { MetricsError } from './errors';
import { Labels, Scores, validateBinaryInput } from './validate';

/**
 * Confusion counts with disease (label 1) as the positive class.
 * Decision rule everywhere in this library: predict disease when `score >= threshold`
 * (the rule behind scikit-learn's `roc_curve` thresholds, which are score values).
 */
export interface ConfusionCounts {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/**
 * Metrics at one operating point. Rates are in [0, 1]; a rate whose denominator is 0 is `NaN`
 * (e.g. PPV when nothing is predicted positive).
 */
export interface BinaryMetrics extends ConfusionCounts {
  /** Threshold these counts were taken at (`score >= threshold` is positive); absent when built from counts. */
  threshold?: number;
  n: number;
  positives: number;
  negatives: number;
  /** Recall of disease, TP / (TP + FN). */
  sensitivity: number;
  /** Recall of normal, TN / (TN + FP). */
  specificity: number;
  /** Positive predictive value (precision of disease), TP / (TP + FP). */
  ppv: number;
  /** Negative predictive value (precision of normal), TN / (TN + FN). */
  npv: number;
  /** F1 of the disease class. */
  f1: number;
  accuracy: number;
  /** Youden's J = sensitivity + specificity − 1, in [−1, 1]. */
  youdenJ: number;
  /** Share of disease labels, P / n. */
  prevalence: number;
}

/** Names of the numeric metrics in {@link BinaryMetrics} that are rates (usable for bootstrap CIs). */
export const RATE_METRICS = [
  'sensitivity',
  'specificity',
  'ppv',
  'npv',
  'f1',
  'accuracy',
  'youdenJ',
] as const;
export type RateMetricName = (typeof RATE_METRICS)[number];

const ratio = (a: number, b: number): number => (b === 0 ? NaN : a / b);

/** Builds every {@link BinaryMetrics} field from confusion counts (non-negative integers). */
export function metricsFromCounts(counts: ConfusionCounts, threshold?: number): BinaryMetrics {
  const { tp, fp, tn, fn } = counts;
  for (const [k, v] of Object.entries(counts)) {
    if (!(Number.isInteger(v) && v >= 0)) {
      throw new MetricsError(
        'INVALID_ARGUMENT',
        `confusion count ${k} must be a non-negative integer, got ${v}`,
      );
    }
  }
  const positives = tp + fn;
  const negatives = tn + fp;
  const n = positives + negatives;
  if (n === 0) throw new MetricsError('EMPTY_INPUT', 'confusion counts are all zero');
  const sensitivity = ratio(tp, positives);
  const specificity = ratio(tn, negatives);
  const m: BinaryMetrics = {
    tp,
    fp,
    tn,
    fn,
    n,
    positives,
    negatives,
    sensitivity,
    specificity,
    ppv: ratio(tp, tp + fp),
    npv: ratio(tn, tn + fn),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    accuracy: (tp + tn) / n,
    youdenJ: sensitivity + specificity - 1,
    prevalence: positives / n,
  };
  if (threshold !== undefined) m.threshold = threshold;
  return m;
}

/**
 * Confusion counts at threshold `t` (`score >= t` → disease). O(n), no allocation.
 * `t` may be ±Infinity (+Infinity predicts nothing positive).
 */
export function confusionAtThreshold(labels: Labels, scores: Scores, t: number): ConfusionCounts {
  if (Number.isNaN(t)) throw new MetricsError('INVALID_ARGUMENT', 'threshold is NaN');
  const { n, positives } = validateBinaryInput(labels, scores);
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < n; i++) {
    if (scores[i] >= t) {
      if (labels[i] === 1) tp++;
      else fp++;
    }
  }
  return { tp, fp, fn: positives - tp, tn: n - positives - fp };
}

/**
 * All operating-point metrics at threshold `t` (`score >= t` → disease). One O(n) pass; cheap enough for a
 * threshold slider on a few hundred thousand scores. For many thresholds on the same data use
 * {@link OperatingPoints} (O(log n) per query).
 */
export function metricsAtThreshold(labels: Labels, scores: Scores, t: number): BinaryMetrics {
  return metricsFromCounts(confusionAtThreshold(labels, scores, t), t);
}

/** Hard predictions (1 = disease) at threshold `t`. */
export function predictAtThreshold(scores: Scores, t: number): Uint8Array {
  const out = new Uint8Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = scores[i] >= t ? 1 : 0;
  return out;
}
