/** Threshold arithmetic in the browser, with the rule of libs/metrics: disease when score >= t. */

/** One row of the API's threshold table (GET /runs/:id → curves.thresholdTable). */
export interface ThresholdRow {
  /** Candidate threshold; null stands for +∞ (nothing called disease). */
  threshold: number | null;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Confusion counts and rates at one threshold; rates are NaN when their denominator is 0. */
export interface AtThreshold {
  threshold: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  sensitivity: number;
  specificity: number;
  ppv: number;
  npv: number;
  f1: number;
  accuracy: number;
}

const ratio = (a: number, b: number): number => (b === 0 ? NaN : a / b);

/**
 * Counts at threshold `t` in [0, 1] from the threshold table (rows in descending threshold order,
 * one per distinct validation score, so the counts at `t` are those of the smallest candidate
 * threshold ≥ t). Exact when the table was not thinned (at most 199 distinct scores).
 */
export function atThreshold(rows: ThresholdRow[], t: number): AtThreshold {
  let best: ThresholdRow | undefined = rows[0];
  for (const r of rows) {
    const thr = r.threshold ?? Infinity;
    if (thr >= t) best = r;
    else break;
  }
  const c = best ?? { tp: 0, fp: 0, tn: 0, fn: 0 };
  const { tp, fp, tn, fn } = c;
  const sensitivity = ratio(tp, tp + fn);
  const ppv = ratio(tp, tp + fp);
  return {
    threshold: t,
    tp,
    fp,
    tn,
    fn,
    sensitivity,
    specificity: ratio(tn, tn + fp),
    ppv,
    npv: ratio(tn, tn + fn),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    accuracy: ratio(tp + tn, tp + tn + fp + fn),
  };
}

/** A rate as text with 4 decimals ("—" when undefined). */
export function fmt(x: number | null | undefined, digits = 4): string {
  return x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(digits);
}
