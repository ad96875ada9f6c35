import { MetricsError } from './errors';
import { Labels, Scores, requireProbabilities, validateBinaryInput } from './validate';

/** Brier score: mean of (p − y)², in [0, 1]; lower is better. Scores must be probabilities in [0, 1]. */
export function brierScore(labels: Labels, probabilities: Scores): number {
  const { n } = validateBinaryInput(labels, probabilities);
  requireProbabilities(probabilities, 'Brier score');
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = probabilities[i] - labels[i];
    s += d * d;
  }
  return s / n;
}

/** One bin of a reliability curve. */
export interface ReliabilityBin {
  /** Bin edges; the bin holds lower < p ≤ upper (the first bin also holds p = 0). */
  lower: number;
  upper: number;
  count: number;
  /** Mean predicted probability in the bin (NaN when empty). */
  meanPredicted: number;
  /** Observed share of disease labels in the bin (NaN when empty). */
  fractionPositive: number;
}

export interface ReliabilityCurve {
  /** All `nBins` bins, empty ones included (count 0). */
  bins: ReliabilityBin[];
  /** Expected calibration error over these bins: Σ (count / n) · |fractionPositive − meanPredicted|. */
  ece: number;
  /** Largest |fractionPositive − meanPredicted| over non-empty bins. */
  mce: number;
  n: number;
}

/**
 * Reliability curve with `nBins` equal-width bins on [0, 1] (default 10), binned exactly like
 * scikit-learn's `calibration_curve(strategy="uniform")`: edges i/nBins, right-closed bins.
 * Non-empty bins match its `(prob_true, prob_pred)`.
 */
export function reliabilityCurve(labels: Labels, probabilities: Scores, nBins = 10): ReliabilityCurve {
  const { n } = validateBinaryInput(labels, probabilities);
  requireProbabilities(probabilities, 'reliability curve');
  if (!(Number.isInteger(nBins) && nBins >= 1)) {
    throw new MetricsError('INVALID_ARGUMENT', `nBins must be a positive integer, got ${nBins}`);
  }
  const step = 1 / nBins;
  const edges = new Float64Array(nBins + 1);
  for (let i = 0; i <= nBins; i++) edges[i] = i * step;
  edges[nBins] = 1;
  const count = new Float64Array(nBins);
  const sumP = new Float64Array(nBins);
  const sumY = new Float64Array(nBins);
  for (let i = 0; i < n; i++) {
    const p = probabilities[i];
    // Index = number of inner edges strictly below p (numpy searchsorted, side='left').
    let lo = 0;
    let hi = nBins - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid + 1] < p) lo = mid + 1;
      else hi = mid;
    }
    count[lo]++;
    sumP[lo] += p;
    sumY[lo] += labels[i];
  }
  const bins: ReliabilityBin[] = [];
  let ece = 0;
  let mce = 0;
  for (let b = 0; b < nBins; b++) {
    const c = count[b];
    const meanPredicted = c === 0 ? NaN : sumP[b] / c;
    const fractionPositive = c === 0 ? NaN : sumY[b] / c;
    if (c > 0) {
      const gap = Math.abs(fractionPositive - meanPredicted);
      ece += (c / n) * gap;
      mce = Math.max(mce, gap);
    }
    bins.push({ lower: edges[b], upper: edges[b + 1], count: c, meanPredicted, fractionPositive });
  }
  return { bins, ece, mce, n };
}

/** Expected calibration error with `nBins` equal-width bins (see {@link reliabilityCurve}), in [0, 1]. */
export function expectedCalibrationError(labels: Labels, probabilities: Scores, nBins = 10): number {
  return reliabilityCurve(labels, probabilities, nBins).ece;
}
