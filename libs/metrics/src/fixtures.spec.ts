/**
 * Tests against committed fixtures whose expected values were computed independently
 * (scikit-learn / scipy / brute force, see ../fixtures/generate.py), to 1e-9.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  MetricsError,
  aucStatistic,
  bootstrapCi,
  bootstrapMetricsAtThreshold,
  averagePrecision,
  brierScore,
  classificationReport,
  confusionAtThreshold,
  delongAucCi,
  formatClassificationReport,
  metricsAtThreshold,
  mulberry32,
  normalQuantile,
  precisionRecallCurve,
  reliabilityCurve,
  rocAuc,
  rocCurve,
  selectThreshold,
  sensitivityAtLeast,
  specificityAtLeast,
  maxYouden,
  wilsonInterval,
  OperatingPoints,
  thresholdTable,
} from './index';

const dir = path.join(__dirname, '..', 'fixtures');
const revive = (_k: string, v: unknown): unknown =>
  v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v === 'NaN' ? NaN : v;
const load = (name: string) => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'), revive);

interface Case {
  name: string;
  labels: number[];
  scores: number[];
  roc?: { fpr: number[]; tpr: number[]; thresholds: number[] };
  rocFull?: { fpr: number[]; tpr: number[]; thresholds: number[] };
  auc?: number;
  pr?: { precision: number[]; recall: number[]; thresholds: number[] };
  averagePrecision?: number;
  brier?: number;
  calibration?: { nBins: number; probTrue: number[]; probPred: number[]; counts: number[]; ece: number };
  delong?: { auc: number; variance: number; lower: number; upper: number };
  policies?: Record<
    string,
    { threshold: number; tp: number; fp: number; sensitivity: number; specificity: number }
  >;
  atThreshold: {
    threshold: number;
    tn: number;
    fp: number;
    fn: number;
    tp: number;
    report: Record<string, Record<string, number> | number>;
    reportText2: string;
    reportText4: string;
  }[];
}

const cases: { cases: Case[]; errors: { name: string; labels: number[]; scores: number[]; code: string }[] } =
  load('cases.json');
const TOL = 1e-9;

function expectClose(actual: ArrayLike<number>, expected: number[], what: string): void {
  expect({ what, length: actual.length }).toEqual({ what, length: expected.length });
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!Number.isFinite(e) || !Number.isFinite(a)) expect({ what, i, a }).toEqual({ what, i, a: e });
    else if (Math.abs(a - e) > TOL) throw new Error(`${what}[${i}]: got ${a}, expected ${e}`);
  }
}

test('the fixture file has at least 20 cases with ties and edge cases', () => {
  expect(cases.cases.length).toBeGreaterThanOrEqual(20);
  expect(cases.errors.length).toBeGreaterThanOrEqual(5);
});

describe.each(cases.cases.map((c) => [c.name, c] as const))('fixture %s', (_name, c) => {
  const both = c.labels.some((y) => y === 1) && c.labels.some((y) => y === 0);

  if (both) {
    test('ROC curve (drop_intermediate) matches scikit-learn', () => {
      const r = rocCurve(c.labels, c.scores);
      expectClose(r.fpr, c.roc!.fpr, 'fpr');
      expectClose(r.tpr, c.roc!.tpr, 'tpr');
      expectClose(r.thresholds, c.roc!.thresholds, 'thresholds');
      expect(Math.abs(r.auc - c.auc!)).toBeLessThanOrEqual(TOL);
    });
    test('full ROC curve matches scikit-learn', () => {
      const r = rocCurve(c.labels, Float64Array.from(c.scores), { dropIntermediate: false });
      expectClose(r.fpr, c.rocFull!.fpr, 'fpr');
      expectClose(r.tpr, c.rocFull!.tpr, 'tpr');
      expectClose(r.thresholds, c.rocFull!.thresholds, 'thresholds');
      // The threshold table uses the same candidates.
      expectClose(
        thresholdTable(c.labels, c.scores).map((row) => row.threshold as number),
        c.rocFull!.thresholds,
        'table thresholds',
      );
    });
    test('AUC and average precision match scikit-learn', () => {
      expect(Math.abs(rocAuc(c.labels, c.scores) - c.auc!)).toBeLessThanOrEqual(TOL);
      expect(Math.abs(averagePrecision(c.labels, c.scores) - c.averagePrecision!)).toBeLessThanOrEqual(TOL);
    });
    test('PR curve matches scikit-learn', () => {
      const pr = precisionRecallCurve(c.labels, c.scores);
      expectClose(pr.precision, c.pr!.precision, 'precision');
      expectClose(pr.recall, c.pr!.recall, 'recall');
      expectClose(pr.thresholds, c.pr!.thresholds, 'thresholds');
    });
    test('threshold policies match the brute-force reference', () => {
      const p = c.policies!;
      const check = (got: ReturnType<typeof selectThreshold>, exp: (typeof p)[string]) => {
        expect(got.threshold === exp.threshold).toBe(true); // numeric: -0 === 0
        expect([got.metrics.tp, got.metrics.fp]).toEqual([exp.tp, exp.fp]);
        expect(got.met).toBe(true);
      };
      check(selectThreshold(c.labels, c.scores, maxYouden()), p.maxYouden);
      check(selectThreshold(c.labels, c.scores, sensitivityAtLeast(0.9)), p.sensitivityAtLeast90);
      check(selectThreshold(c.labels, c.scores, specificityAtLeast(0.9)), p.specificityAtLeast90);
      check(selectThreshold(c.labels, c.scores, sensitivityAtLeast(1)), p.sensitivityAtLeast100);
    });
  }
  if (c.delong) {
    test('DeLong interval matches the pairwise reference', () => {
      const d = delongAucCi(c.labels, c.scores);
      expect(Math.abs(d.estimate - c.delong!.auc)).toBeLessThanOrEqual(TOL);
      expect(Math.abs(d.variance - c.delong!.variance)).toBeLessThanOrEqual(TOL);
      expect(Math.abs(d.lower - c.delong!.lower)).toBeLessThanOrEqual(TOL);
      expect(Math.abs(d.upper - c.delong!.upper)).toBeLessThanOrEqual(TOL);
    });
  }
  if (c.calibration) {
    test('Brier score, reliability curve and ECE match scikit-learn / numpy', () => {
      expect(Math.abs(brierScore(c.labels, c.scores) - c.brier!)).toBeLessThanOrEqual(TOL);
      const rc = reliabilityCurve(c.labels, c.scores, c.calibration!.nBins);
      expect(rc.bins.map((b) => b.count)).toEqual(c.calibration!.counts);
      const nonEmpty = rc.bins.filter((b) => b.count > 0);
      expectClose(
        nonEmpty.map((b) => b.fractionPositive),
        c.calibration!.probTrue,
        'prob_true',
      );
      expectClose(
        nonEmpty.map((b) => b.meanPredicted),
        c.calibration!.probPred,
        'prob_pred',
      );
      expect(Math.abs(rc.ece - c.calibration!.ece)).toBeLessThanOrEqual(TOL);
    });
  }
  test('confusion matrix and classification report at several thresholds match scikit-learn', () => {
    const ops = new OperatingPoints(c.labels, c.scores);
    for (const a of c.atThreshold) {
      const counts = confusionAtThreshold(c.labels, c.scores, a.threshold);
      expect(counts).toEqual({ tn: a.tn, fp: a.fp, fn: a.fn, tp: a.tp });
      const m = metricsAtThreshold(c.labels, c.scores, a.threshold);
      expect(ops.at(a.threshold)).toEqual(m);
      const rep = classificationReport(counts);
      const byName = (k: string) => a.report[k] as Record<string, number>;
      for (const [row, got] of [
        ['normal', rep.classes[0]],
        ['disease', rep.classes[1]],
        ['macro avg', rep.macroAvg],
        ['weighted avg', rep.weightedAvg],
      ] as const) {
        expect(Math.abs(got.precision - byName(row).precision)).toBeLessThanOrEqual(TOL);
        expect(Math.abs(got.recall - byName(row).recall)).toBeLessThanOrEqual(TOL);
        expect(Math.abs(got.f1 - byName(row)['f1-score'])).toBeLessThanOrEqual(TOL);
        expect(got.support).toBe(byName(row).support);
      }
      expect(Math.abs(rep.accuracy - (a.report.accuracy as number))).toBeLessThanOrEqual(TOL);
      expect(formatClassificationReport(rep)).toBe(a.reportText2);
      expect(formatClassificationReport(rep, 4)).toBe(a.reportText4);
    }
  });
});

describe('fixture error cases', () => {
  test.each(cases.errors.map((e) => [e.name, e] as const))(
    '%s throws MetricsError with its code',
    (_n, e) => {
      const call = () => rocAuc(e.labels, e.scores);
      expect(call).toThrow(MetricsError);
      try {
        call();
      } catch (err) {
        expect((err as MetricsError).code).toBe(e.code);
        expect((err as MetricsError).message.length).toBeGreaterThan(10);
      }
    },
  );
});

describe('seed report (shared/seed/report-zh.md, second experiment)', () => {
  const seed = load('seed-report.json');
  test('TN 82, FP 68, FN 4, TP 96 reproduces scikit-learn’s classification_report text exactly', () => {
    const rep = classificationReport(
      { tn: 82, fp: 68, fn: 4, tp: 96 },
      { classNames: ['normal', 'disease'] },
    );
    expect(formatClassificationReport(rep)).toBe(seed.text);
  });
  test('and the digits of the seed’s own table', () => {
    const text = formatClassificationReport(classificationReport({ tn: 82, fp: 68, fn: 4, tp: 96 }));
    const rows = Object.fromEntries(
      text
        .split('\n')
        .filter((l) => /\d\s*$/.test(l))
        .map((l) => {
          const parts = l.trim().split(/\s{2,}|\s(?=\d)/);
          return [parts[0], parts.slice(1).join(' ')];
        }),
    );
    // The seed's table, copied from report-zh.md.
    expect(rows).toEqual({
      normal: '0.95 0.55 0.69 150',
      disease: '0.59 0.96 0.73 100',
      accuracy: '0.71 250',
      'macro avg': '0.77 0.75 0.71 250',
      'weighted avg': '0.81 0.71 0.71 250',
    });
  });
});

describe('misc references', () => {
  const misc = load('misc.json');
  test('mulberry32 sequences match the Python re-implementation', () => {
    for (const [seed, seq] of Object.entries(misc.mulberry32 as Record<string, number[]>)) {
      const r = mulberry32(Number(seed));
      expect(seq.map(() => r())).toEqual(seq);
    }
  });
  test('stratified bootstrap CIs match the Python re-implementation (same PRNG and draw order)', () => {
    const boots = misc.bootstrap as {
      case: string;
      iterations: number;
      seed: number;
      threshold: number;
      auc: [number, number];
      sensitivity: [number, number];
      specificity: [number, number];
    }[];
    expect(boots.length).toBe(3);
    for (const b of boots) {
      const c = cases.cases.find((x) => x.name === b.case)!;
      const opts = { iterations: b.iterations, seed: b.seed };
      const auc = bootstrapCi(c.labels, c.scores, aucStatistic, opts);
      const rates = bootstrapMetricsAtThreshold(
        c.labels,
        c.scores,
        b.threshold,
        ['sensitivity', 'specificity'],
        opts,
      );
      for (const [got, exp] of [
        [auc, b.auc],
        [rates.sensitivity, b.sensitivity],
        [rates.specificity, b.specificity],
      ] as const) {
        expect(got).toBeDefined();
        expect(Math.abs(got!.lower - exp[0])).toBeLessThanOrEqual(TOL);
        expect(Math.abs(got!.upper - exp[1])).toBeLessThanOrEqual(TOL);
      }
    }
  });
  test('normalQuantile matches scipy.stats.norm.ppf', () => {
    for (const { p, z } of misc.normalQuantile as { p: number; z: number }[]) {
      expect(Math.abs(normalQuantile(p) - z)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(z)));
    }
  });
  test('Wilson intervals match the reference', () => {
    for (const w of misc.wilson95 as { successes: number; total: number; lower: number; upper: number }[]) {
      const ci = wilsonInterval(w.successes, w.total);
      expect(Math.abs(ci.lower - w.lower)).toBeLessThanOrEqual(TOL);
      expect(Math.abs(ci.upper - w.upper)).toBeLessThanOrEqual(TOL);
    }
  });
});
