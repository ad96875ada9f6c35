import { RateMetricName, metricsFromCounts } from './confusion';
import { aucFromCounts, cumulativeCounts } from './curves';
import { MetricsError } from './errors';
import { mulberry32 } from './rng';
import { normalQuantile, quantileSorted } from './stats';
import { Labels, Scores, requireBothClasses, requireInRange, validateBinaryInput } from './validate';

/** A two-sided confidence interval. */
export interface ConfidenceInterval {
  /** The statistic on the original data. */
  estimate: number;
  lower: number;
  upper: number;
  /** Coverage, e.g. 0.95. */
  level: number;
  method: 'bootstrap-percentile' | 'delong' | 'wilson';
}

/** Bootstrap CI with its settings, so a report can say how it was made. */
export interface BootstrapInterval extends ConfidenceInterval {
  method: 'bootstrap-percentile';
  iterations: number;
  seed: number;
  stratified: boolean;
  /** Resamples whose statistic was NaN (e.g. PPV with no predicted positives); left out of the percentiles. */
  undefinedResamples: number;
}

export interface BootstrapOptions {
  /** Number of resamples, ≥ 10. Default 1000. */
  iterations?: number;
  /** Seed for {@link mulberry32}. Default 0. */
  seed?: number;
  /** Coverage in (0, 1). Default 0.95. */
  level?: number;
  /**
   * Resample positives and negatives separately, keeping their counts (default true), so every
   * resample has both classes and AUC is always defined.
   */
  stratified?: boolean;
}

/** A statistic of labelled scores; receives fresh resampled arrays each call. */
export type Statistic = (labels: Uint8Array, scores: Float64Array) => number;

interface ResampleSetup {
  labels: Uint8Array;
  scores: Float64Array;
  posIdx: Int32Array;
  negIdx: Int32Array;
  iterations: number;
  seed: number;
  level: number;
  stratified: boolean;
}

function setup(labels: Labels, scores: Scores, options: BootstrapOptions): ResampleSetup {
  const counts = validateBinaryInput(labels, scores);
  const iterations = options.iterations ?? 1000;
  const seed = options.seed ?? 0;
  const level = options.level ?? 0.95;
  const stratified = options.stratified ?? true;
  if (!(Number.isInteger(iterations) && iterations >= 10)) {
    throw new MetricsError(
      'INVALID_ARGUMENT',
      `bootstrap iterations must be an integer ≥ 10, got ${iterations}`,
    );
  }
  if (!(level > 0 && level < 1))
    throw new MetricsError('INVALID_ARGUMENT', `level must be in (0, 1), got ${level}`);
  const l = Uint8Array.from(labels as ArrayLike<number>);
  const s = Float64Array.from(scores as ArrayLike<number>);
  const posIdx = new Int32Array(counts.positives);
  const negIdx = new Int32Array(counts.negatives);
  for (let i = 0, p = 0, q = 0; i < l.length; i++) {
    if (l[i] === 1) posIdx[p++] = i;
    else negIdx[q++] = i;
  }
  return { labels: l, scores: s, posIdx, negIdx, iterations, seed, level, stratified };
}

/** Fills (bl, bs) with one resample; stratified keeps class counts. */
function resample(st: ResampleSetup, rand: () => number, bl: Uint8Array, bs: Float64Array): void {
  const n = st.labels.length;
  if (st.stratified) {
    let k = 0;
    for (const idx of [st.posIdx, st.negIdx]) {
      const m = idx.length;
      for (let r = 0; r < m; r++) {
        const i = idx[Math.floor(rand() * m)];
        bl[k] = st.labels[i];
        bs[k++] = st.scores[i];
      }
    }
  } else {
    for (let k = 0; k < n; k++) {
      const i = Math.floor(rand() * n);
      bl[k] = st.labels[i];
      bs[k] = st.scores[i];
    }
  }
}

function percentileInterval(
  estimate: number,
  values: number[],
  st: ResampleSetup,
  undefinedResamples: number,
): BootstrapInterval {
  if (values.length === 0) {
    throw new MetricsError(
      'INVALID_ARGUMENT',
      'the statistic was undefined (NaN) on every bootstrap resample',
    );
  }
  const sorted = Float64Array.from(values).sort();
  const alpha = (1 - st.level) / 2;
  return {
    estimate,
    lower: quantileSorted(sorted, alpha),
    upper: quantileSorted(sorted, 1 - alpha),
    level: st.level,
    method: 'bootstrap-percentile',
    iterations: st.iterations,
    seed: st.seed,
    stratified: st.stratified,
    undefinedResamples,
  };
}

/**
 * Seeded percentile bootstrap CI for any statistic of (labels, scores). Same seed and input → same
 * interval. With `stratified: false` a resample may lose a class; statistics that then throw
 * {@link MetricsError} `SINGLE_CLASS` or return NaN are counted in `undefinedResamples`.
 */
export function bootstrapCi(
  labels: Labels,
  scores: Scores,
  statistic: Statistic,
  options: BootstrapOptions = {},
): BootstrapInterval {
  const st = setup(labels, scores, options);
  const estimate = statistic(st.labels.slice(), st.scores.slice());
  const rand = mulberry32(st.seed);
  const values: number[] = [];
  let undefinedResamples = 0;
  for (let b = 0; b < st.iterations; b++) {
    const bl = new Uint8Array(st.labels.length);
    const bs = new Float64Array(st.labels.length);
    resample(st, rand, bl, bs);
    let v: number;
    try {
      v = statistic(bl, bs);
    } catch (e) {
      if (e instanceof MetricsError && e.code === 'SINGLE_CLASS') v = NaN;
      else throw e;
    }
    if (Number.isNaN(v)) undefinedResamples++;
    else values.push(v);
  }
  return percentileInterval(estimate, values, st, undefinedResamples);
}

/**
 * Bootstrap CIs for several operating-point rates at a FIXED threshold `t`, sharing one set of resamples
 * (cheaper than one {@link bootstrapCi} per metric). The threshold is not re-chosen per resample.
 */
export function bootstrapMetricsAtThreshold(
  labels: Labels,
  scores: Scores,
  t: number,
  metrics: readonly RateMetricName[],
  options: BootstrapOptions = {},
): Partial<Record<RateMetricName, BootstrapInterval>> {
  const st = setup(labels, scores, options);
  const n = st.labels.length;
  // Resampling predictions-with-labels only needs the 4 cells; precompute each sample's cell.
  const cell = new Uint8Array(n); // 0 tp, 1 fp, 2 fn, 3 tn
  for (let i = 0; i < n; i++) {
    const pred = st.scores[i] >= t;
    cell[i] = st.labels[i] === 1 ? (pred ? 0 : 2) : pred ? 1 : 3;
  }
  const count = (idx: (k: number) => number): number[] => {
    const c = [0, 0, 0, 0];
    for (let k = 0; k < n; k++) c[cell[idx(k)]]++;
    return c;
  };
  const base = count((k) => k);
  const estimate = metricsFromCounts({ tp: base[0], fp: base[1], fn: base[2], tn: base[3] });
  const rand = mulberry32(st.seed);
  const values = new Map<RateMetricName, number[]>(metrics.map((m) => [m, []]));
  const undefinedCount = new Map<RateMetricName, number>(metrics.map((m) => [m, 0]));
  const P = st.posIdx.length;
  const N = st.negIdx.length;
  for (let b = 0; b < st.iterations; b++) {
    const c = [0, 0, 0, 0];
    if (st.stratified) {
      for (let r = 0; r < P; r++) c[cell[st.posIdx[Math.floor(rand() * P)]]]++;
      for (let r = 0; r < N; r++) c[cell[st.negIdx[Math.floor(rand() * N)]]]++;
    } else {
      for (let r = 0; r < n; r++) c[cell[Math.floor(rand() * n)]]++;
    }
    const m = metricsFromCounts({ tp: c[0], fp: c[1], fn: c[2], tn: c[3] });
    for (const name of metrics) {
      const v = m[name];
      if (Number.isNaN(v)) undefinedCount.set(name, (undefinedCount.get(name) ?? 0) + 1);
      else values.get(name)?.push(v);
    }
  }
  const out: Partial<Record<RateMetricName, BootstrapInterval>> = {};
  for (const name of metrics) {
    const v = values.get(name) ?? [];
    // A rate undefined on every resample (e.g. PPV when nothing is called disease) has no interval.
    if (v.length === 0) continue;
    out[name] = percentileInterval(estimate[name], v, st, undefinedCount.get(name) ?? 0);
  }
  return out;
}

/** DeLong AUC interval: the AUC, its DeLong variance and a normal-approximation CI clipped to [0, 1]. */
export interface DelongInterval extends ConfidenceInterval {
  method: 'delong';
  variance: number;
  standardError: number;
}

/**
 * DeLong et al. (1988) CI for the ROC AUC: structural components V10 (per positive) and V01 (per negative),
 * var = S10/m + S01/n with unbiased sample variances; interval AUC ± z·SE, clipped to [0, 1].
 * Needs at least 2 positives and 2 negatives. O(n log n).
 */
export function delongAucCi(labels: Labels, scores: Scores, level = 0.95): DelongInterval {
  const c = validateBinaryInput(labels, scores);
  requireBothClasses(c, 'DeLong AUC interval');
  if (c.positives < 2 || c.negatives < 2) {
    throw new MetricsError('SINGLE_CLASS', 'DeLong variance needs at least 2 positives and 2 negatives');
  }
  if (!(level > 0 && level < 1))
    throw new MetricsError('INVALID_ARGUMENT', `level must be in (0, 1), got ${level}`);
  const pos = new Float64Array(c.positives);
  const neg = new Float64Array(c.negatives);
  for (let i = 0, p = 0, q = 0; i < c.n; i++) {
    if (labels[i] === 1) pos[p++] = scores[i];
    else neg[q++] = scores[i];
  }
  pos.sort();
  neg.sort();
  // For each value v of `a`, (number of b < v) + ½ (number of b == v), via two pointers on sorted arrays.
  const components = (a: Float64Array, b: Float64Array, flip: boolean): Float64Array => {
    const out = new Float64Array(a.length);
    let lt = 0;
    let le = 0;
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      while (lt < b.length && b[lt] < v) lt++;
      while (le < b.length && b[le] <= v) le++;
      const below = lt + (le - lt) / 2; // b < v counts 1, ties ½
      out[i] = (flip ? b.length - below : below) / b.length;
    }
    return out;
  };
  const v10 = components(pos, neg, false); // P(neg < this pos)
  const v01 = components(neg, pos, true); // P(pos > this neg)
  const mean = (x: Float64Array): number => x.reduce((s, v) => s + v, 0) / x.length;
  const sampleVar = (x: Float64Array, mu: number): number =>
    x.reduce((s, v) => s + (v - mu) * (v - mu), 0) / (x.length - 1);
  const auc = aucFromSorted(v10);
  const variance = sampleVar(v10, mean(v10)) / v10.length + sampleVar(v01, mean(v01)) / v01.length;
  const se = Math.sqrt(variance);
  const z = normalQuantile(1 - (1 - level) / 2);
  return {
    estimate: auc,
    lower: Math.max(0, auc - z * se),
    upper: Math.min(1, auc + z * se),
    level,
    method: 'delong',
    variance,
    standardError: se,
  };
}

function aucFromSorted(v10: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v10.length; i++) s += v10[i];
  return s / v10.length;
}

/**
 * Wilson score interval for a proportion `successes / total` (e.g. sensitivity = TP / (TP + FN)).
 * `total` ≥ 1.
 */
export function wilsonInterval(successes: number, total: number, level = 0.95): ConfidenceInterval {
  if (!(
    Number.isInteger(successes) &&
    Number.isInteger(total) &&
    total >= 1 &&
    successes >= 0 &&
    successes <= total
  )) {
    throw new MetricsError(
      'INVALID_ARGUMENT',
      `Wilson interval needs integers 0 ≤ successes ≤ total, total ≥ 1`,
    );
  }
  requireInRange(level, Number.MIN_VALUE, 1 - Number.EPSILON, 'level');
  const z = normalQuantile(1 - (1 - level) / 2);
  const p = successes / total;
  const z2 = z * z;
  const denom = 1 + z2 / total;
  const centre = (p + z2 / (2 * total)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / total + z2 / (4 * total * total))) / denom;
  return {
    estimate: p,
    lower: Math.max(0, centre - half),
    upper: Math.min(1, centre + half),
    level,
    method: 'wilson',
  };
}

/** Convenience: the ROC AUC statistic for {@link bootstrapCi}. */
export const aucStatistic: Statistic = (l, s) => aucFromCounts(cumulativeCounts(l, s));
