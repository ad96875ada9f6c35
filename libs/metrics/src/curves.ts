import { BinaryMetrics, metricsFromCounts } from './confusion';
import { MetricsError } from './errors';
import { ClassCounts, Labels, Scores, requireBothClasses, validateBinaryInput } from './validate';

/**
 * Cumulative counts at every distinct score, like scikit-learn's `_binary_clf_curve`:
 * `thresholds` strictly descending (distinct score values), and `tps[i]` / `fps[i]` the number of
 * positives / negatives with `score >= thresholds[i]`.
 */
export interface CumulativeCounts extends ClassCounts {
  thresholds: Float64Array;
  tps: Float64Array;
  fps: Float64Array;
}

/**
 * Sorts once and counts. Positive and negative scores are sorted separately with the native
 * typed-array sort and merged, which costs about one sort of all scores and never sorts indices.
 */
export function cumulativeCounts(labels: Labels, scores: Scores): CumulativeCounts {
  const counts = validateBinaryInput(labels, scores);
  const { n, positives, negatives } = counts;
  const pos = new Float64Array(positives);
  const neg = new Float64Array(negatives);
  for (let i = 0, p = 0, q = 0; i < n; i++) {
    if (labels[i] === 1) pos[p++] = scores[i];
    else neg[q++] = scores[i];
  }
  pos.sort();
  neg.sort();
  // Walk both ascending arrays from their ends (largest first).
  const thresholds = new Float64Array(n);
  const tps = new Float64Array(n);
  const fps = new Float64Array(n);
  let i = positives - 1;
  let j = negatives - 1;
  let tp = 0;
  let fp = 0;
  let k = 0;
  while (i >= 0 || j >= 0) {
    const v = i < 0 ? neg[j] : j < 0 ? pos[i] : pos[i] > neg[j] ? pos[i] : neg[j];
    while (i >= 0 && pos[i] === v) {
      tp++;
      i--;
    }
    while (j >= 0 && neg[j] === v) {
      fp++;
      j--;
    }
    thresholds[k] = v === 0 ? 0 : v; // -0 and +0 are one threshold; report +0
    tps[k] = tp;
    fps[k] = fp;
    k++;
  }
  // Views, not copies: with distinct scores k = n and a copy would cost as much as the merge.
  return {
    ...counts,
    thresholds: thresholds.subarray(0, k),
    tps: tps.subarray(0, k),
    fps: fps.subarray(0, k),
  };
}

/** ROC curve arrays, scikit-learn `roc_curve` layout: index 0 is (0, 0) at threshold +Infinity. */
export interface RocCurve {
  fpr: Float64Array;
  tpr: Float64Array;
  /** Descending; `thresholds[0] = +Infinity`, the rest are score values. */
  thresholds: Float64Array;
  /** Positives / negatives with `score >= thresholds[i]`. */
  tps: Float64Array;
  fps: Float64Array;
  positives: number;
  negatives: number;
  /** Area under the curve (same value as {@link rocAuc}), so one sort gives both. */
  auc: number;
}

export interface RocOptions {
  /**
   * Drop points collinear with their neighbours, exactly as scikit-learn's `drop_intermediate`
   * (second difference of both fps and tps is zero). Default true, like scikit-learn.
   */
  dropIntermediate?: boolean;
}

/**
 * ROC curve with scikit-learn semantics: thresholds are the distinct scores (descending) with +Infinity
 * prepended; ties are one point. Also returns the AUC. Needs both classes (`SINGLE_CLASS` otherwise).
 * O(n log n), one sort.
 */
export function rocCurve(labels: Labels, scores: Scores, options: RocOptions = {}): RocCurve {
  const c = cumulativeCounts(labels, scores);
  requireBothClasses(c, 'ROC curve');
  return rocFromCounts(c, options);
}

/** {@link rocCurve} from precomputed {@link cumulativeCounts}. */
export function rocFromCounts(c: CumulativeCounts, options: RocOptions = {}): RocCurve {
  requireBothClasses(c, 'ROC curve');
  const dropIntermediate = options.dropIntermediate ?? true;
  const m = c.thresholds.length;
  let keep: Int32Array | null = null;
  let kept = m;
  if (dropIntermediate && m > 2) {
    keep = new Int32Array(m);
    kept = 0;
    keep[kept++] = 0;
    for (let i = 1; i < m - 1; i++) {
      const d2f = c.fps[i + 1] - 2 * c.fps[i] + c.fps[i - 1];
      const d2t = c.tps[i + 1] - 2 * c.tps[i] + c.tps[i - 1];
      if (d2f !== 0 || d2t !== 0) keep[kept++] = i;
    }
    keep[kept++] = m - 1;
  }
  const len = kept + 1;
  const fpr = new Float64Array(len);
  const tpr = new Float64Array(len);
  const thresholds = new Float64Array(len);
  const tps = new Float64Array(len);
  const fps = new Float64Array(len);
  thresholds[0] = Infinity;
  const P = c.positives;
  const N = c.negatives;
  for (let r = 0; r < kept; r++) {
    const i = keep ? keep[r] : r;
    tps[r + 1] = c.tps[i];
    fps[r + 1] = c.fps[i];
    tpr[r + 1] = c.tps[i] / P;
    fpr[r + 1] = c.fps[i] / N;
    thresholds[r + 1] = c.thresholds[i];
  }
  return { fpr, tpr, thresholds, tps, fps, positives: P, negatives: N, auc: aucFromCounts(c) };
}

/**
 * Area under the ROC curve by the trapezoid rule over the full step curve (ties give diagonal segments),
 * equal to scikit-learn's `roc_auc_score` and to the Mann–Whitney probability P(s+ > s−) + ½ P(s+ = s−).
 * Summed in integers and divided once, so it is exact up to one rounding for n < ~4·10^7. Range [0, 1].
 */
export function rocAuc(labels: Labels, scores: Scores): number {
  const c = cumulativeCounts(labels, scores);
  return aucFromCounts(c);
}

/** {@link rocAuc} from precomputed {@link cumulativeCounts}; `SINGLE_CLASS` if a class is absent. */
export function aucFromCounts(c: CumulativeCounts): number {
  requireBothClasses(c, 'AUC');
  let twiceArea = 0;
  let prevT = 0;
  let prevF = 0;
  for (let i = 0; i < c.thresholds.length; i++) {
    const t = c.tps[i];
    const f = c.fps[i];
    twiceArea += (f - prevF) * (t + prevT);
    prevT = t;
    prevF = f;
  }
  return twiceArea / (2 * c.positives * c.negatives);
}

/**
 * Trapezoid area under y(x) for monotonic x (non-decreasing or non-increasing), like scikit-learn's `auc`.
 * Throws `INVALID_ARGUMENT` for non-monotonic x or fewer than 2 points.
 */
export function trapezoidArea(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) {
    throw new MetricsError('LENGTH_MISMATCH', `x and y differ in length: ${x.length} vs ${y.length}`);
  }
  if (x.length < 2) throw new MetricsError('INVALID_ARGUMENT', 'at least 2 points are needed for an area');
  let direction = 0;
  let area = 0;
  for (let i = 1; i < x.length; i++) {
    const dx = x[i] - x[i - 1];
    const d = Math.sign(dx);
    if (d !== 0) {
      if (direction !== 0 && d !== direction) {
        throw new MetricsError('INVALID_ARGUMENT', 'x is neither non-decreasing nor non-increasing');
      }
      direction = d;
    }
    area += (dx * (y[i] + y[i - 1])) / 2;
  }
  return direction < 0 ? -area : area;
}

/** Precision–recall curve, scikit-learn `precision_recall_curve` layout. */
export interface PrCurve {
  /** Increasing threshold order; the last element is 1 (no threshold). */
  precision: Float64Array;
  /** Non-increasing; the last element is 0. */
  recall: Float64Array;
  /** Distinct scores, ascending; length = precision.length − 1. */
  thresholds: Float64Array;
}

/**
 * Precision–recall curve with scikit-learn semantics (`drop_intermediate=false`): one point per distinct
 * score, precision 0 where nothing is predicted positive. Needs at least one positive (`SINGLE_CLASS`).
 */
export function precisionRecallCurve(labels: Labels, scores: Scores): PrCurve {
  return prFromCounts(cumulativeCounts(labels, scores));
}

/** {@link precisionRecallCurve} from precomputed {@link cumulativeCounts}. */
export function prFromCounts(c: CumulativeCounts): PrCurve {
  if (c.positives === 0) {
    throw new MetricsError(
      'SINGLE_CLASS',
      'precision-recall curve is undefined without positive (disease) labels',
    );
  }
  const m = c.thresholds.length;
  const precision = new Float64Array(m + 1);
  const recall = new Float64Array(m + 1);
  const thresholds = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const r = m - 1 - i;
    const predicted = c.tps[i] + c.fps[i];
    precision[r] = predicted === 0 ? 0 : c.tps[i] / predicted;
    recall[r] = c.tps[i] / c.positives;
    thresholds[r] = c.thresholds[i];
  }
  precision[m] = 1;
  recall[m] = 0;
  return { precision, recall, thresholds };
}

/**
 * Average precision as scikit-learn: Σ (R_k − R_{k−1}) · P_k over the PR curve (step integral, no
 * interpolation). Range [0, 1]; needs at least one positive (`SINGLE_CLASS`).
 */
export function averagePrecision(labels: Labels, scores: Scores): number {
  return apFromCounts(cumulativeCounts(labels, scores));
}

/** {@link averagePrecision} from precomputed {@link cumulativeCounts}. */
export function apFromCounts(c: CumulativeCounts): number {
  if (c.positives === 0) {
    throw new MetricsError(
      'SINGLE_CLASS',
      'average precision is undefined without positive (disease) labels',
    );
  }
  let ap = 0;
  let prevTp = 0;
  for (let i = 0; i < c.thresholds.length; i++) {
    const tp = c.tps[i];
    if (tp !== prevTp) ap += ((tp - prevTp) / c.positives) * (tp / (tp + c.fps[i]));
    prevTp = tp;
  }
  return Math.max(0, ap);
}

/**
 * Every metric at every candidate threshold: +Infinity, then each distinct score descending — the full
 * (not dropped) ROC thresholds. Row i uses `score >= threshold`.
 */
export function thresholdTable(labels: Labels, scores: Scores): BinaryMetrics[] {
  return thresholdTableFromCounts(cumulativeCounts(labels, scores));
}

/** {@link thresholdTable} from precomputed {@link cumulativeCounts}. */
export function thresholdTableFromCounts(c: CumulativeCounts): BinaryMetrics[] {
  const rows: BinaryMetrics[] = [
    metricsFromCounts({ tp: 0, fp: 0, fn: c.positives, tn: c.negatives }, Infinity),
  ];
  for (let i = 0; i < c.thresholds.length; i++) {
    const tp = c.tps[i];
    const fp = c.fps[i];
    rows.push(metricsFromCounts({ tp, fp, fn: c.positives - tp, tn: c.negatives - fp }, c.thresholds[i]));
  }
  return rows;
}

/**
 * Sorted view of one labelled score set for answering many threshold queries (a dashboard slider):
 * build once in O(n log n), then {@link OperatingPoints.at} is O(log n).
 */
export class OperatingPoints {
  readonly counts: CumulativeCounts;
  constructor(labels: Labels, scores: Scores) {
    this.counts = cumulativeCounts(labels, scores);
  }

  /** Metrics at threshold `t` (`score >= t` → disease); same values as `metricsAtThreshold`. */
  at(t: number): BinaryMetrics {
    if (Number.isNaN(t)) throw new MetricsError('INVALID_ARGUMENT', 'threshold is NaN');
    const th = this.counts.thresholds;
    // Number of distinct thresholds >= t (thresholds descending).
    let lo = 0;
    let hi = th.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (th[mid] >= t) lo = mid + 1;
      else hi = mid;
    }
    const tp = lo === 0 ? 0 : this.counts.tps[lo - 1];
    const fp = lo === 0 ? 0 : this.counts.fps[lo - 1];
    return metricsFromCounts({ tp, fp, fn: this.counts.positives - tp, tn: this.counts.negatives - fp }, t);
  }
}
