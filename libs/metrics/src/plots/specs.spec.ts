import { rocCurve, rocAuc } from '../curves';
import { renderSvg } from './render';
import { probabilityBins, probabilityHistogramSpec, rocOverlaySpec } from './specs';

describe('dashboard chart specs', () => {
  const labels = [0, 0, 1, 1, 0, 1, 0, 1];
  const a = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.6, 0.7];
  const b = [0.3, 0.2, 0.6, 0.5, 0.1, 0.4, 0.2, 0.9];

  it('overlays named ROC curves with their AUC in the legend and renders them', async () => {
    const spec = rocOverlaySpec([
      { name: 'trial 1', roc: rocCurve(labels, a), auc: rocAuc(labels, a) },
      { name: 'trial 2', roc: rocCurve(labels, b), auc: rocAuc(labels, b) },
    ]) as unknown as { layer: Array<{ data: { values: Array<{ series?: string }> } }> };
    const series = new Set(spec.layer[1].data.values.map((v) => v.series));
    expect([...series]).toEqual([
      `trial 1 (AUC ${rocAuc(labels, a).toFixed(3)})`,
      `trial 2 (AUC ${rocAuc(labels, b).toFixed(3)})`,
    ]);
    expect(spec.layer[1].data.values).toHaveLength(
      rocCurve(labels, a).fpr.length + rocCurve(labels, b).fpr.length,
    );
    const svg = await renderSvg(spec as never);
    expect(svg).toContain('trial 2 (AUC');
  });

  it('bins probabilities in equal-width bins with 1 in the last bin and skips invalid values', () => {
    expect(probabilityBins([0, 0.05, 0.1, 0.55, 0.999, 1, NaN, -0.1, 1.2], 10)).toEqual([
      2, 1, 0, 0, 0, 1, 0, 0, 0, 2,
    ]);
    expect(probabilityBins([], 4)).toEqual([0, 0, 0, 0]);
  });

  it('draws the histogram with the threshold rule only when a threshold is given', async () => {
    const withT = probabilityHistogramSpec([1, 2, 3, 4], 0.42) as unknown as { layer: unknown[] };
    const without = probabilityHistogramSpec([1, 2, 3, 4]) as unknown as { layer: unknown[] };
    expect(withT.layer).toHaveLength(2);
    expect(without.layer).toHaveLength(1);
    expect(await renderSvg(withT as never)).toContain('<svg');
  });
});
