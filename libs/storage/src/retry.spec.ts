import { backoffDelayMs } from './retry';

describe('backoffDelayMs', () => {
  const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 };

  it('doubles per retry between half and the full exponential value, capped', () => {
    const lows = [1, 2, 3, 4, 5, 6].map((r) => backoffDelayMs(r, policy, () => 0));
    const highs = [1, 2, 3, 4, 5, 6].map((r) => backoffDelayMs(r, policy, () => 0.999999));
    expect(lows).toEqual([50, 100, 200, 400, 500, 500]);
    expect(highs).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('stays within [half, full] for any random draw', () => {
    for (let i = 0; i < 100; i++) {
      const d = backoffDelayMs(3, policy);
      expect(d).toBeGreaterThanOrEqual(200);
      expect(d).toBeLessThanOrEqual(400);
    }
  });
});
