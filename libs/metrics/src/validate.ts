import { MetricsError } from './errors';

/** Binary labels: 1 = disease (positive class), 0 = normal. Any numeric array-like. */
export type Labels = ArrayLike<number>;
/** Model scores, higher = more likely disease. Any finite numbers (probabilities for calibration). */
export type Scores = ArrayLike<number>;

/** Class counts of a validated input. */
export interface ClassCounts {
  n: number;
  positives: number;
  negatives: number;
}

/**
 * Checks labels and scores in one pass: equal non-zero length, labels in {0, 1}, finite scores.
 * Throws {@link MetricsError} (`LENGTH_MISMATCH`, `EMPTY_INPUT`, `INVALID_LABEL`, `NON_FINITE_SCORE`).
 */
export function validateBinaryInput(labels: Labels, scores: Scores): ClassCounts {
  const n = labels.length;
  if (n !== scores.length) {
    throw new MetricsError(
      'LENGTH_MISMATCH',
      `labels and scores differ in length: ${n} labels, ${scores.length} scores`,
    );
  }
  if (n === 0) throw new MetricsError('EMPTY_INPUT', 'labels and scores are empty');
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (y === 1) positives++;
    else if (y !== 0) {
      throw new MetricsError('INVALID_LABEL', `label at index ${i} is ${String(y)}; labels must be 0 or 1`);
    }
    const s = scores[i];
    if (typeof s !== 'number' || !Number.isFinite(s)) {
      throw new MetricsError(
        'NON_FINITE_SCORE',
        `score at index ${i} is ${String(s)}; scores must be finite`,
      );
    }
  }
  return { n, positives, negatives: n - positives };
}

/** Throws `SINGLE_CLASS` unless both classes occur; `what` names the metric in the message. */
export function requireBothClasses(counts: ClassCounts, what: string): void {
  if (counts.positives === 0 || counts.negatives === 0) {
    const missing = counts.positives === 0 ? 'no positive (disease) labels' : 'no negative (normal) labels';
    throw new MetricsError('SINGLE_CLASS', `${what} is undefined for a single-class set: ${missing}`);
  }
}

/** Throws `SCORE_OUT_OF_RANGE` unless every score is a probability in [0, 1]. */
export function requireProbabilities(scores: Scores, what: string): void {
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (!(s >= 0 && s <= 1)) {
      throw new MetricsError(
        'SCORE_OUT_OF_RANGE',
        `${what} needs probabilities in [0, 1]; score at index ${i} is ${String(s)}`,
      );
    }
  }
}

/** Throws `INVALID_ARGUMENT` unless `x` is a finite number in [lo, hi]. */
export function requireInRange(x: number, lo: number, hi: number, name: string): void {
  if (!(Number.isFinite(x) && x >= lo && x <= hi)) {
    throw new MetricsError('INVALID_ARGUMENT', `${name} must be in [${lo}, ${hi}], got ${String(x)}`);
  }
}
