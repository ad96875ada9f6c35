/** Property tests (fast-check) of invariants that must hold for any input. */
import fc from 'fast-check';
import {
  OperatingPoints,
  classificationReport,
  metricsAtThreshold,
  rocAuc,
  rocCurve,
  selectThreshold,
  sensitivityAtLeast,
  specificityAtLeast,
  maxYouden,
  thresholdTable,
  trapezoidArea,
  averagePrecision,
} from './index';

/** Labelled scores with both classes; scores k/8 (exact in binary) with many ties. */
const labelled = (maxLength = 120, range = 400) =>
  fc
    .array(fc.record({ y: fc.integer({ min: 0, max: 1 }), k: fc.integer({ min: -range, max: range }) }), {
      minLength: 2,
      maxLength,
    })
    .filter((xs) => xs.some((x) => x.y === 1) && xs.some((x) => x.y === 0))
    .map((xs) => ({ labels: xs.map((x) => x.y), scores: xs.map((x) => x.k / 8) }));

/** Mann–Whitney AUC by definition, O(P·N). */
function pairwiseAuc(labels: number[], scores: number[]): number {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      sum += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return sum / pairs;
}

const near = (a: number, b: number, tol = 1e-12): boolean => Math.abs(a - b) <= tol;

test('AUC equals the Mann–Whitney probability (ties count ½)', () => {
  fc.assert(
    fc.property(labelled(), ({ labels, scores }) =>
      near(rocAuc(labels, scores), pairwiseAuc(labels, scores)),
    ),
    { numRuns: 200 },
  );
});

test('AUC is unchanged by any strictly increasing transform of the scores', () => {
  const transforms: ((x: number) => number)[] = [
    (x) => 2 * x + 1,
    (x) => x * x * x,
    (x) => Math.atan(x / 10),
    (x) => 1 / (1 + Math.exp(-x / 20)),
  ];
  fc.assert(
    fc.property(labelled(), fc.integer({ min: 0, max: transforms.length - 1 }), ({ labels, scores }, k) => {
      const f = transforms[k];
      return near(rocAuc(labels, scores.map(f)), rocAuc(labels, scores));
    }),
    { numRuns: 300 },
  );
});

test('AUC(1 − s) = 1 − AUC(s)', () => {
  fc.assert(
    fc.property(labelled(120, 8), ({ labels, scores }) => {
      const probs = scores.map((s) => (s + 1) / 2); // k/16 + 1/2 in [0, 1], exact
      return near(
        rocAuc(
          labels,
          probs.map((p) => 1 - p),
        ),
        1 - rocAuc(labels, probs),
      );
    }),
    { numRuns: 300 },
  );
});

test('ROC curve shape: +Infinity first, thresholds descending, rates monotone, ends at (1, 1), area = AUC', () => {
  fc.assert(
    fc.property(labelled(), fc.boolean(), ({ labels, scores }, drop) => {
      const r = rocCurve(labels, scores, { dropIntermediate: drop });
      if (r.thresholds[0] !== Infinity || r.fpr[0] !== 0 || r.tpr[0] !== 0) return false;
      for (let i = 1; i < r.thresholds.length; i++) {
        if (!(r.thresholds[i] < r.thresholds[i - 1])) return false;
        if (r.fpr[i] < r.fpr[i - 1] || r.tpr[i] < r.tpr[i - 1]) return false;
      }
      const last = r.fpr.length - 1;
      return (
        r.fpr[last] === 1 && r.tpr[last] === 1 && near(trapezoidArea(r.fpr, r.tpr), rocAuc(labels, scores))
      );
    }),
    { numRuns: 200 },
  );
});

test('average precision lies in [0, 1] and is 1 for perfect separation', () => {
  fc.assert(
    fc.property(labelled(), ({ labels, scores }) => {
      const ap = averagePrecision(labels, scores);
      const perfect = averagePrecision(
        labels,
        labels.map((y) => y),
      );
      return ap >= 0 && ap <= 1 + 1e-15 && near(perfect, 1);
    }),
    { numRuns: 100 },
  );
});

test('OperatingPoints.at(t) equals metricsAtThreshold for any t', () => {
  fc.assert(
    fc.property(labelled(), fc.integer({ min: -420, max: 420 }), ({ labels, scores }, k) => {
      const t = k / 8 + (k % 3 === 0 ? 0.01 : 0); // on and between score values
      return (
        JSON.stringify(new OperatingPoints(labels, scores).at(t)) ===
        JSON.stringify(metricsAtThreshold(labels, scores, t))
      );
    }),
    { numRuns: 200 },
  );
});

test('classification report: averages consistent with per-class values', () => {
  const count = fc.integer({ min: 0, max: 500 });
  fc.assert(
    fc.property(count, count, count, count, (tp, fp, tn, fn) => {
      fc.pre(tp + fp + tn + fn > 0);
      const r = classificationReport({ tp, fp, tn, fn });
      const [a, b] = r.classes;
      const n = a.support + b.support;
      const okMacro =
        near(r.macroAvg.precision, (a.precision + b.precision) / 2) &&
        near(r.macroAvg.recall, (a.recall + b.recall) / 2) &&
        near(r.macroAvg.f1, (a.f1 + b.f1) / 2);
      const w = (x: number, y: number): number => (a.support * x + b.support * y) / n;
      const okWeighted =
        n === 0 ||
        (near(r.weightedAvg.precision, w(a.precision, b.precision)) &&
          near(r.weightedAvg.recall, w(a.recall, b.recall)) &&
          near(r.weightedAvg.f1, w(a.f1, b.f1)) &&
          near(r.weightedAvg.recall, r.accuracy)); // weighted recall is accuracy
      return (
        okMacro &&
        okWeighted &&
        r.support === tp + fp + tn + fn &&
        a.support === tn + fp &&
        b.support === tp + fn
      );
    }),
    { numRuns: 500 },
  );
});

test('policies: the choice meets its target and no candidate beats it', () => {
  fc.assert(
    fc.property(labelled(80), fc.integer({ min: 0, max: 20 }), ({ labels, scores }, k) => {
      const target = k / 20;
      const table = thresholdTable(labels, scores);
      const s = selectThreshold(labels, scores, sensitivityAtLeast(target));
      const okS =
        s.met &&
        s.metrics.sensitivity >= target - 1e-12 &&
        table.every((r) => r.sensitivity < target - 1e-12 || r.specificity <= s.metrics.specificity);
      const p = selectThreshold(labels, scores, specificityAtLeast(target));
      const okP =
        p.metrics.specificity >= target - 1e-12 &&
        table.every((r) => r.specificity < target - 1e-12 || r.sensitivity <= p.metrics.sensitivity);
      const y = selectThreshold(labels, scores, maxYouden());
      const okY = table.every((r) => r.youdenJ <= y.metrics.youdenJ + 1e-12);
      // The returned metrics are exactly those at the returned threshold.
      const same =
        JSON.stringify(s.metrics) === JSON.stringify(metricsAtThreshold(labels, scores, s.threshold));
      return okS && okP && okY && same;
    }),
    { numRuns: 200 },
  );
});
