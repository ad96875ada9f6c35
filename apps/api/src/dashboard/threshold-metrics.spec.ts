import fc from 'fast-check';
import { metricsAtThreshold } from '@fundus/metrics';
import { atThreshold } from '../../../dashboard/src/metrics';
import { runCurves } from '../resources/run-curves';

/**
 * The dashboard's threshold slider computes counts and rates from the threshold table the API
 * sends (GET /runs/:id → curves.thresholdTable); they must equal libs/metrics at the same t.
 */
describe('dashboard atThreshold over the API threshold table', () => {
  const data = fc
    .array(
      fc.record({
        label: fc.constantFrom(0, 1),
        score: fc.integer({ min: 0, max: 1000 }).map((x) => x / 1000),
      }),
      { minLength: 2, maxLength: 150 },
    )
    .filter((xs) => xs.some((x) => x.label === 1) && xs.some((x) => x.label === 0));

  it('matches metricsAtThreshold at any threshold, including at the scores themselves', () => {
    fc.assert(
      fc.property(data, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }), (xs, ts) => {
        const labels = xs.map((x) => x.label);
        const scores = xs.map((x) => x.score);
        const table = runCurves({ labels, scores })!.thresholdTable;
        for (const t of [...ts, ...scores, 0, 1]) {
          const got = atThreshold(table, t);
          const want = metricsAtThreshold(labels, scores, t);
          expect([got.tp, got.fp, got.tn, got.fn]).toEqual([want.tp, want.fp, want.tn, want.fn]);
          for (const k of ['sensitivity', 'specificity', 'ppv', 'npv', 'f1', 'accuracy'] as const) {
            if (Number.isNaN(want[k])) expect(got[k]).toBeNaN();
            else expect(got[k]).toBeCloseTo(want[k], 12);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('calls nothing disease above the highest score', () => {
    const table = runCurves({ labels: [0, 1, 1], scores: [0.2, 0.6, 0.9] })!.thresholdTable;
    expect(atThreshold(table, 0.95)).toMatchObject({ tp: 0, fp: 0, tn: 1, fn: 2 });
    expect(atThreshold(table, 0.6)).toMatchObject({ tp: 2, fp: 0, tn: 1, fn: 0 });
    expect(atThreshold(table, 0.2)).toMatchObject({ tp: 2, fp: 1, tn: 0, fn: 0 });
  });
});
