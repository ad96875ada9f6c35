/** Unit tests of behaviour not covered by the fixtures: formatting, errors, policies' edge cases, CIs. */
import * as fs from 'fs';
import * as path from 'path';
import {
  MetricsError,
  aucStatistic,
  bootstrapCi,
  bootstrapMetricsAtThreshold,
  brierScore,
  classificationReport,
  classificationReportMarkdown,
  delongAucCi,
  describePolicy,
  fixedThreshold,
  formatFixed,
  metricsAtThreshold,
  metricsFromCounts,
  mulberry32,
  reliabilityCurve,
  rocAuc,
  rocCurve,
  selectThreshold,
  sensitivityAtLeast,
  specificityAtLeast,
  maxYouden,
  precisionRecallCurve,
  trapezoidArea,
} from './index';

const misc = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'misc.json'), 'utf8'));

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MetricsError);
    return (e as MetricsError).code;
  }
  return undefined;
}

/** Seeded binormal sample like the seed test set: 150 normal, 100 disease, probabilities. */
function sample(seed: number, nNeg = 150, nPos = 100, d = 1.7): { labels: number[]; scores: number[] } {
  const r = mulberry32(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const labels: number[] = [];
  const scores: number[] = [];
  for (let i = 0; i < nNeg + nPos; i++) {
    const y = i < nNeg ? 0 : 1;
    labels.push(y);
    scores.push(1 / (1 + Math.exp(-(gauss() + y * d - d / 2))));
  }
  return { labels, scores };
}

describe('formatFixed', () => {
  test('matches Python format(x, ".Nf") including round-half-even ties and -0', () => {
    const rows = misc.pythonFormat as { x: number; digits: number; text: string }[];
    expect(rows.length).toBeGreaterThan(400);
    const wrong = rows.filter((r) => formatFixed(r.x, r.digits) !== r.text);
    expect(wrong).toEqual([]);
  });
  test('non-finite values as Python prints them', () => {
    expect([formatFixed(NaN, 2), formatFixed(Infinity, 2), formatFixed(-Infinity, 2)]).toEqual([
      'nan',
      'inf',
      '-inf',
    ]);
  });
});

describe('typed errors', () => {
  test('each bad input has its code and a plain message', () => {
    expect(codeOf(() => rocAuc([0, 1], [0.1]))).toBe('LENGTH_MISMATCH');
    expect(codeOf(() => metricsAtThreshold([], [], 0.5))).toBe('EMPTY_INPUT');
    expect(codeOf(() => rocCurve([0, 1], [NaN, 0.2]))).toBe('NON_FINITE_SCORE');
    expect(codeOf(() => precisionRecallCurve([0, 1], [0.1, -Infinity]))).toBe('NON_FINITE_SCORE');
    expect(codeOf(() => rocAuc([0, 3], [0.1, 0.2]))).toBe('INVALID_LABEL');
    expect(codeOf(() => rocAuc([1, 1, 1], [0.1, 0.2, 0.3]))).toBe('SINGLE_CLASS');
    expect(codeOf(() => delongAucCi([0, 1, 1], [0.1, 0.2, 0.3]))).toBe('SINGLE_CLASS');
    expect(codeOf(() => precisionRecallCurve([0, 0], [0.1, 0.2]))).toBe('SINGLE_CLASS');
    expect(codeOf(() => brierScore([0, 1], [0.1, 1.2]))).toBe('SCORE_OUT_OF_RANGE');
    expect(codeOf(() => selectThreshold([0, 1], [0.1, 0.2], sensitivityAtLeast(1.5)))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => selectThreshold([0, 0], [0.1, 0.2], maxYouden()))).toBe('SINGLE_CLASS');
    expect(codeOf(() => metricsAtThreshold([0, 1], [0.1, 0.2], NaN))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => trapezoidArea([0, 1, 0.5], [0, 1, 1]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => bootstrapCi([0, 1], [0.1, 0.2], aucStatistic, { iterations: 3 }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(() => rocAuc([0, 0], [0.1, 0.2])).toThrow(/single-class set: no positive \(disease\) labels/);
  });
  test('typed arrays are accepted as input', () => {
    const labels = Uint8Array.from([0, 1, 0, 1]);
    const scores = Float32Array.from([0.1, 0.9, 0.4, 0.35]);
    expect(rocAuc(labels, scores)).toBe(0.75);
  });
});

describe('metrics at a threshold', () => {
  test('score >= t is disease: a score equal to the threshold counts as positive', () => {
    const m = metricsAtThreshold([0, 1, 1, 0], [0.5, 0.5, 0.7, 0.2], 0.5);
    expect([m.tp, m.fp, m.tn, m.fn]).toEqual([2, 1, 1, 0]);
  });
  test('+Infinity predicts nothing positive; undefined rates are NaN', () => {
    const m = metricsAtThreshold([0, 1], [0.2, 0.9], Infinity);
    expect([m.tp, m.fp, m.sensitivity, m.specificity]).toEqual([0, 0, 0, 1]);
    expect(m.ppv).toBeNaN();
  });
  test('seed confusion matrix rates', () => {
    const m = metricsFromCounts({ tn: 82, fp: 68, fn: 4, tp: 96 });
    expect(m.sensitivity).toBe(0.96);
    expect(m.specificity).toBeCloseTo(82 / 150, 15);
    expect(m.youdenJ).toBeCloseTo(0.96 + 82 / 150 - 1, 15);
  });
  test('seed table as Markdown in the seed report layout', () => {
    const md = classificationReportMarkdown(classificationReport({ tn: 82, fp: 68, fn: 4, tp: 96 }));
    expect(md).toContain('| normal | 0.95 | 0.55 | 0.69 | 150 |');
    expect(md).toContain('| disease | 0.59 | 0.96 | 0.73 | 100 |');
    expect(md).toContain('| accuracy | \\ | \\ | 0.71 | 250 |');
    expect(md).toContain('| weighted avg | 0.81 | 0.71 | 0.71 | 250 |');
  });
});

describe('threshold policies', () => {
  const labels = [0, 0, 0, 0, 1, 0, 1, 1, 1, 1];
  const scores = [0.1, 0.2, 0.3, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9];
  test('sensitivity ≥ 0.8 picks the best specificity among qualifying thresholds', () => {
    const s = selectThreshold(labels, scores, sensitivityAtLeast(0.8));
    expect(s.threshold).toBe(0.6);
    expect([s.metrics.sensitivity, s.metrics.specificity, s.met]).toEqual([0.8, 1, true]);
  });
  test('exactly 95 of 100 detected counts as sensitivity ≥ 0.95', () => {
    // Positives score k, negatives k + 0.5 (k = 0..99): thresholds ≤ 5 qualify, 5 has the best specificity.
    const l = Array.from({ length: 200 }, (_, i) => (i < 100 ? 1 : 0));
    const sc = l.map((y, i) => (y === 1 ? i : i - 100 + 0.5));
    const s = selectThreshold(l, sc, sensitivityAtLeast(0.95));
    expect([s.threshold, s.metrics.tp, s.metrics.tn]).toEqual([5, 95, 5]);
  });
  test('a required floor on the other rate that is missed gives met: false with a reason', () => {
    const s = selectThreshold(labels, scores, sensitivityAtLeast(1, 0.9));
    expect(s.threshold).toBe(0.45);
    expect(s.met).toBe(false);
    expect(s.reason).toMatch(/best specificity is 0\.8000, below the required 0\.9/);
    const ok = selectThreshold(labels, scores, sensitivityAtLeast(1, 0.8));
    expect(ok.met).toBe(true);
    const p = selectThreshold(labels, scores, specificityAtLeast(1, 0.9));
    expect([p.threshold, p.met]).toEqual([0.6, false]);
  });
  test('specificity 1 when the top score is a negative: only +Infinity qualifies, said in the reason', () => {
    const s = selectThreshold([1, 0, 1], [0.2, 0.9, 0.5], specificityAtLeast(1));
    expect(s.threshold).toBe(Infinity);
    expect(s.met).toBe(true);
    expect(s.reason).toMatch(/nothing is predicted as disease/);
  });
  test('fixed works on a single-class set and describePolicy names each policy', () => {
    expect(selectThreshold([0, 0], [0.1, 0.7], fixedThreshold(0.5)).metrics.fp).toBe(1);
    expect(describePolicy(sensitivityAtLeast(0.95))).toBe('sensitivity ≥ 0.95, then best specificity');
    expect(describePolicy(maxYouden())).toMatch(/Youden/);
  });
});

describe('uncertainty', () => {
  const { labels, scores } = sample(3);
  test('bootstrap is reproducible for a seed and changes with the seed', () => {
    const a = bootstrapCi(labels, scores, aucStatistic, { iterations: 300, seed: 9 });
    const b = bootstrapCi(labels, scores, aucStatistic, { iterations: 300, seed: 9 });
    const c = bootstrapCi(labels, scores, aucStatistic, { iterations: 300, seed: 10 });
    expect(a).toEqual(b);
    expect([c.lower, c.upper]).not.toEqual([a.lower, a.upper]);
    expect(a.lower).toBeLessThan(a.estimate);
    expect(a.upper).toBeGreaterThan(a.estimate);
    expect(a.estimate).toBe(rocAuc(labels, scores));
  });
  test('bootstrap and DeLong AUC intervals agree closely on a seed-sized sample', () => {
    const boot = bootstrapCi(labels, scores, aucStatistic, { iterations: 2000, seed: 1 });
    const dl = delongAucCi(labels, scores);
    expect(dl.estimate).toBeCloseTo(boot.estimate, 12);
    expect(Math.abs(boot.lower - dl.lower)).toBeLessThan(0.02);
    expect(Math.abs(boot.upper - dl.upper)).toBeLessThan(0.02);
  });
  test('stratified resamples keep both classes; unstratified ones may lose one and are counted', () => {
    const tiny = { labels: [0, 0, 0, 0, 0, 0, 0, 1], scores: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8] };
    const strat = bootstrapCi(tiny.labels, tiny.scores, aucStatistic, { iterations: 200 });
    expect(strat.undefinedResamples).toBe(0);
    const plain = bootstrapCi(tiny.labels, tiny.scores, aucStatistic, { iterations: 200, stratified: false });
    expect(plain.undefinedResamples).toBeGreaterThan(0); // P(no positive drawn) = (7/8)^8 ≈ 0.34
    expect(plain.undefinedResamples).toBeLessThan(200);
  });
  test('the shared-resample helper gives the same interval as bootstrapCi with the same seed', () => {
    const t = 0.5;
    const many = bootstrapMetricsAtThreshold(labels, scores, t, ['sensitivity', 'specificity'], {
      iterations: 500,
      seed: 4,
    });
    const one = bootstrapCi(labels, scores, (l, s) => metricsAtThreshold(l, s, t).sensitivity, {
      iterations: 500,
      seed: 4,
    });
    expect(many.sensitivity).toEqual(one);
    expect(many.specificity?.estimate).toBe(metricsAtThreshold(labels, scores, t).specificity);
  });
  test('a rate undefined on every resample gets no interval instead of failing the report', () => {
    // Threshold above every score: nothing is called disease, so PPV is 0/0 on every resample.
    const ci = bootstrapMetricsAtThreshold([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], 0.9, ['ppv', 'specificity'], {
      iterations: 50,
      seed: 1,
    });
    expect(ci.ppv).toBeUndefined();
    expect(ci.specificity?.estimate).toBe(1);
  });
  test('95% intervals cover the true AUC in most of 40 independent samples', () => {
    // Large-sample AUC of a binormal model with unit variances: Φ(d / √2).
    const d = 1.7;
    const truth = 0.5 * (1 + erf(d / 2));
    let covered = 0;
    for (let k = 0; k < 40; k++) {
      const s = sample(100 + k, 150, 100, d);
      const ci = delongAucCi(s.labels, s.scores);
      if (ci.lower <= truth && truth <= ci.upper) covered++;
    }
    expect(covered).toBeGreaterThanOrEqual(33); // expected 38; P(< 33) is tiny for a correct CI
  });
  test('reliability curve: bins are right-closed and ECE of perfectly calibrated bins is 0', () => {
    const rc = reliabilityCurve([0, 1, 0, 1], [0.1, 0.1, 0.5, 0.5], 10);
    expect(rc.bins[0].count).toBe(2); // 0.1 sits on the first edge: bin (0, 0.1]
    expect(rc.bins[4].count).toBe(2);
    expect(rc.ece).toBeCloseTo(0.5 * 0.4 + 0.5 * 0, 12);
  });
});

/** Abramowitz–Stegun 7.1.26 is too coarse; a series is fine for |x| < 3. */
function erf(x: number): number {
  let sum = x;
  let term = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
