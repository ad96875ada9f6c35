import { medianStopDecision } from './median-stopping';

describe('medianStopDecision', () => {
  it('stops a trial strictly below the median of finished trials at that epoch', () => {
    expect(medianStopDecision(0.7, [0.8, 0.9, 0.6])).toBe(true); // median 0.8
    expect(medianStopDecision(0.8, [0.8, 0.9, 0.6])).toBe(false); // equal: continue
    expect(medianStopDecision(0.75, [0.5, 1])).toBe(false); // median 0.75
    expect(medianStopDecision(0.74, [0.5, 1])).toBe(true);
  });

  it('continues without finished trials or without a validation AUC', () => {
    expect(medianStopDecision(0.1, [])).toBe(false);
    expect(medianStopDecision(null, [0.9])).toBe(false);
    expect(medianStopDecision(Number.NaN, [0.9])).toBe(false);
  });
});
