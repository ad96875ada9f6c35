import { BinaryMetrics, metricsAtThreshold, metricsFromCounts } from './confusion';
import { CumulativeCounts, cumulativeCounts } from './curves';
import { MetricsError } from './errors';
import { Labels, Scores, requireBothClasses, requireInRange } from './validate';

/**
 * How the operating threshold is chosen (DESIGN.md "Method rules"). Apply to VALIDATION scores only;
 * the chosen threshold is then used unchanged on the test split.
 * - `fixed`: the given threshold.
 * - `max-youden`: maximise sensitivity + specificity − 1.
 * - `sensitivity-at-least`: among thresholds with sensitivity ≥ target, the best specificity.
 * - `specificity-at-least`: among thresholds with specificity ≥ target, the best sensitivity.
 * `minSpecificity` / `minSensitivity` optionally demand a floor on the other rate (e.g. IDx-DR's endpoints);
 * when it is missed the selection still returns the best point but with `met: false`.
 */
export type ThresholdPolicy =
  | { kind: 'fixed'; threshold: number }
  | { kind: 'max-youden' }
  | { kind: 'sensitivity-at-least'; target: number; minSpecificity?: number }
  | { kind: 'specificity-at-least'; target: number; minSensitivity?: number };

/** Result of applying a {@link ThresholdPolicy}. */
export interface ThresholdSelection {
  policy: ThresholdPolicy;
  /** `score >= threshold` → disease. A score value of the data, or +Infinity (nothing positive). */
  threshold: number;
  /** Metrics at `threshold` on the data the policy was applied to. */
  metrics: BinaryMetrics;
  /** Whether the policy's target (and floor, if any) is met at `threshold`. */
  met: boolean;
  /** Plain-words note when `met` is false or the choice is degenerate. */
  reason?: string;
}

/** Policy builders: `fixedThreshold(0.5)`, `maxYouden()`, `sensitivityAtLeast(0.95)`, `specificityAtLeast(0.9)`. */
export const fixedThreshold = (threshold: number): ThresholdPolicy => ({ kind: 'fixed', threshold });
export const maxYouden = (): ThresholdPolicy => ({ kind: 'max-youden' });
export const sensitivityAtLeast = (target: number, minSpecificity?: number): ThresholdPolicy =>
  minSpecificity === undefined
    ? { kind: 'sensitivity-at-least', target }
    : { kind: 'sensitivity-at-least', target, minSpecificity };
export const specificityAtLeast = (target: number, minSensitivity?: number): ThresholdPolicy =>
  minSensitivity === undefined
    ? { kind: 'specificity-at-least', target }
    : { kind: 'specificity-at-least', target, minSensitivity };

/** Rates are compared with this slack so that e.g. 95/100 ≥ 0.95 holds despite binary rounding. */
const EPS = 1e-12;

/** One line describing a policy, for reports, e.g. "sensitivity ≥ 0.95, then best specificity". */
export function describePolicy(policy: ThresholdPolicy): string {
  switch (policy.kind) {
    case 'fixed':
      return `fixed threshold ${policy.threshold}`;
    case 'max-youden':
      return 'maximum Youden J (sensitivity + specificity − 1)';
    case 'sensitivity-at-least':
      return (
        `sensitivity ≥ ${policy.target}, then best specificity` +
        (policy.minSpecificity !== undefined ? ` (required specificity ≥ ${policy.minSpecificity})` : '')
      );
    case 'specificity-at-least':
      return (
        `specificity ≥ ${policy.target}, then best sensitivity` +
        (policy.minSensitivity !== undefined ? ` (required sensitivity ≥ ${policy.minSensitivity})` : '')
      );
  }
}

/**
 * Applies `policy` to labelled scores. Candidates are +Infinity and every distinct score (the full ROC
 * thresholds). Ties in the objective go to the higher sensitivity (a missed disease costs more), then to
 * the higher specificity. Needs both classes except for `fixed` (`SINGLE_CLASS`). O(n log n).
 */
export function selectThreshold(labels: Labels, scores: Scores, policy: ThresholdPolicy): ThresholdSelection {
  if (policy.kind === 'fixed') {
    if (Number.isNaN(policy.threshold)) throw new MetricsError('INVALID_ARGUMENT', 'fixed threshold is NaN');
    return {
      policy,
      threshold: policy.threshold,
      metrics: metricsAtThreshold(labels, scores, policy.threshold),
      met: true,
    };
  }
  return selectFromCounts(cumulativeCounts(labels, scores), policy);
}

/** {@link selectThreshold} on precomputed {@link cumulativeCounts} (reuse one sort for many policies). */
export function selectFromCounts(c: CumulativeCounts, policy: ThresholdPolicy): ThresholdSelection {
  if (policy.kind === 'fixed') {
    const t = policy.threshold;
    let k = 0;
    while (k < c.thresholds.length && c.thresholds[k] >= t) k++;
    const tp = k === 0 ? 0 : c.tps[k - 1];
    const fp = k === 0 ? 0 : c.fps[k - 1];
    return {
      policy,
      threshold: t,
      metrics: metricsFromCounts({ tp, fp, fn: c.positives - tp, tn: c.negatives - fp }, t),
      met: true,
    };
  }
  requireBothClasses(c, `threshold policy "${policy.kind}"`);
  if (policy.kind !== 'max-youden') requireInRange(policy.target, 0, 1, 'policy target');
  const P = c.positives;
  const N = c.negatives;
  // Candidate k = -1 is +Infinity (tp = fp = 0); k >= 0 is c.thresholds[k].
  let best = -2;
  let bestObj = -Infinity;
  let bestSens = -Infinity;
  let bestSpec = -Infinity;
  for (let k = -1; k < c.thresholds.length; k++) {
    const tp = k < 0 ? 0 : c.tps[k];
    const fp = k < 0 ? 0 : c.fps[k];
    const sens = tp / P;
    const spec = (N - fp) / N;
    let obj: number;
    if (policy.kind === 'max-youden') obj = sens + spec - 1;
    else if (policy.kind === 'sensitivity-at-least') {
      if (sens < policy.target - EPS) continue;
      obj = spec;
    } else {
      if (spec < policy.target - EPS) continue;
      obj = sens;
    }
    const better =
      obj > bestObj + EPS ||
      (Math.abs(obj - bestObj) <= EPS && (sens > bestSens || (sens === bestSens && spec > bestSpec)));
    if (better) {
      best = k;
      bestObj = obj;
      bestSens = sens;
      bestSpec = spec;
    }
  }
  // With both classes present every target in [0, 1] is reachable (+Infinity or the lowest score).
  const threshold = best < 0 ? Infinity : c.thresholds[best];
  const tp = best < 0 ? 0 : c.tps[best];
  const fp = best < 0 ? 0 : c.fps[best];
  const metrics = metricsFromCounts({ tp, fp, fn: P - tp, tn: N - fp }, threshold);
  const selection: ThresholdSelection = { policy, threshold, metrics, met: true };
  if (policy.kind === 'sensitivity-at-least' && policy.minSpecificity !== undefined) {
    if (metrics.specificity < policy.minSpecificity - EPS) {
      selection.met = false;
      selection.reason =
        `at sensitivity ≥ ${policy.target} the best specificity is ${metrics.specificity.toFixed(4)}, ` +
        `below the required ${policy.minSpecificity}`;
    }
  } else if (policy.kind === 'specificity-at-least' && policy.minSensitivity !== undefined) {
    if (metrics.sensitivity < policy.minSensitivity - EPS) {
      selection.met = false;
      selection.reason =
        `at specificity ≥ ${policy.target} the best sensitivity is ${metrics.sensitivity.toFixed(4)}, ` +
        `below the required ${policy.minSensitivity}`;
    }
  }
  if (selection.met && threshold === Infinity) {
    selection.reason = 'only the +Infinity threshold qualifies: nothing is predicted as disease';
  }
  return selection;
}
