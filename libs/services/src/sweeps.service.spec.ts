import { expandTrials, sweepRequestSchema } from './sweeps.service';

const parse = (x: unknown) => sweepRequestSchema.parse(x);
const id = '00000000-0000-4000-8000-000000000000';

describe('expandTrials', () => {
  it('grid search is the cartesian product of the listed values', () => {
    const trials = expandTrials(parse({ datasetId: id, space: { alpha: [0.5, 2], gamma: [0, 2] } }), {
      alpha: 2,
      gamma: 2,
    });
    expect(trials.map((t) => [t.alpha, t.gamma])).toEqual([
      [0.5, 0],
      [0.5, 2],
      [2, 0],
      [2, 2],
    ]);
    expect(new Set(trials.map((t) => t.lossForm))).toEqual(new Set(['focal-seed']));
  });

  it('random search with the same seed proposes the same trials; another seed others', () => {
    const req = (seed: number) =>
      parse({
        datasetId: id,
        strategy: 'random',
        trials: 6,
        seed,
        space: {
          alpha: { min: 0.1, max: 4 },
          gamma: [0, 1, 2, 3],
          learningRate: { min: 1e-4, max: 1e-2, log: true },
        },
      });
    const a = expandTrials(req(7), { alpha: 2, gamma: 2 });
    const b = expandTrials(req(7), { alpha: 2, gamma: 2 });
    const c = expandTrials(req(8), { alpha: 2, gamma: 2 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a).toHaveLength(6);
    for (const t of a) {
      expect(t.alpha).toBeGreaterThanOrEqual(0.1);
      expect(t.alpha).toBeLessThanOrEqual(4);
      expect([0, 1, 2, 3]).toContain(t.gamma);
      expect(t.learningRate!).toBeGreaterThanOrEqual(1e-4);
      expect(t.learningRate!).toBeLessThanOrEqual(1e-2);
    }
  });

  it('grid search refuses ranges, random search needs a trial count', () => {
    expect(() =>
      expandTrials(parse({ datasetId: id, space: { alpha: { min: 0, max: 1 } } }), { alpha: 2, gamma: 2 }),
    ).toThrow(/list of values for alpha/);
    expect(() =>
      expandTrials(parse({ datasetId: id, strategy: 'random', space: {} }), { alpha: 2, gamma: 2 }),
    ).toThrow(/needs "trials"/);
  });

  it('rejects negative alpha or gamma in the space', () => {
    expect(sweepRequestSchema.safeParse({ datasetId: id, space: { alpha: [-1] } }).success).toBe(false);
    expect(sweepRequestSchema.safeParse({ datasetId: id, space: { gamma: [1, -0.5] } }).success).toBe(false);
  });
});
