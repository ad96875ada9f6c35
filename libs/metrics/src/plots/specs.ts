import type { TopLevelSpec } from 'vega-lite';
import type { ConfusionCounts } from '../confusion';
import type { RocCurve, PrCurve } from '../curves';
import type { ReliabilityCurve } from '../calibration';
import type { BinaryMetrics } from '../confusion';

/**
 * Vega-Lite v5 spec builders for every chart of the run and sweep reports. Pure data in, JSON spec out:
 * the report renders them to SVG/PNG in Node and the dashboard can hand the same specs to vega-embed.
 */

/** One training epoch as stored per run. Losses are the training objective (focal loss); lr in 1/step. */
export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  trainLoss: number;
  valLoss?: number;
  /** Validation ROC AUC in [0, 1]. */
  valAuc?: number;
  lr?: number;
  /** Wall time of the epoch in seconds. */
  seconds?: number;
}

/** An operating point to mark on ROC / PR charts. */
export interface OperatingPointMark {
  threshold: number;
  sensitivity: number;
  specificity: number;
  ppv: number;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';
const WIDTH = 360;
const HEIGHT = 300;
const base = { $schema: SCHEMA, background: 'white', config: { font: 'DejaVu Sans, Arial, sans-serif' } };

/** Keeps at most `max` points, always the first and last (curves can have 10^6 points). */
export function thinPoints<T>(points: T[], max = 1500): T[] {
  if (points.length <= max) return points;
  const out: T[] = [];
  const step = (points.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(points[Math.round(i * step)]);
  return out;
}

/** The chance line from (0, 0) to (1, 1) of ROC and calibration charts. */
const DIAGONAL = {
  data: {
    values: [
      { x: 0, y: 0 },
      { x: 1, y: 1 },
    ],
  },
  mark: { type: 'line', color: '#999', strokeDash: [4, 4] },
  encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
};

/** ROC axes: false positive rate across, sensitivity up, both over [0, 1]. */
const ROC_AXES = {
  x: {
    field: 'fpr',
    type: 'quantitative',
    title: '1 − specificity (false positive rate)',
    scale: { domain: [0, 1] },
  },
  y: {
    field: 'tpr',
    type: 'quantitative',
    title: 'Sensitivity (true positive rate)',
    scale: { domain: [0, 1] },
  },
};

const fmt = (x: number, d = 3): string => (Number.isFinite(x) ? x.toFixed(d) : String(x));

/** Train and validation loss per epoch (and validation AUC on a second axis when present). */
export function lossCurveSpec(epochs: readonly EpochRecord[], title = 'Loss per epoch'): TopLevelSpec {
  const values: { epoch: number; series: string; loss: number }[] = [];
  for (const e of epochs) {
    values.push({ epoch: e.epoch, series: 'train loss', loss: e.trainLoss });
    if (e.valLoss !== undefined) values.push({ epoch: e.epoch, series: 'validation loss', loss: e.valLoss });
  }
  const hasAuc = epochs.some((e) => e.valAuc !== undefined);
  const lossLayer = {
    data: { values },
    mark: { type: 'line' as const, point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative' as const, title: 'Epoch', axis: { tickMinStep: 1 } },
      y: { field: 'loss', type: 'quantitative' as const, title: 'Loss' },
      color: {
        field: 'series',
        type: 'nominal' as const,
        title: null,
        legend: { orient: 'top-right' as const },
      },
    },
  };
  if (!hasAuc) return { ...base, title, width: WIDTH, height: HEIGHT, ...lossLayer } as TopLevelSpec;
  const aucLayer = {
    data: {
      values: epochs.filter((e) => e.valAuc !== undefined).map((e) => ({ epoch: e.epoch, auc: e.valAuc })),
    },
    mark: { type: 'line' as const, strokeDash: [4, 3], color: '#54a24b' },
    encoding: {
      x: { field: 'epoch', type: 'quantitative' as const },
      y: {
        field: 'auc',
        type: 'quantitative' as const,
        title: 'Validation AUC (dashed)',
        scale: { domain: [0.5, 1] },
        axis: { titleColor: '#54a24b' },
      },
    },
  };
  return {
    ...base,
    title,
    width: WIDTH,
    height: HEIGHT,
    layer: [lossLayer, aucLayer],
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

/** ROC curve with the chance diagonal, AUC in the title and the operating point marked. */
export function rocSpec(
  roc: RocCurve,
  auc: number,
  point?: OperatingPointMark,
  title?: string,
): TopLevelSpec {
  const pts = thinPoints(
    Array.from(roc.fpr, (f, i) => ({ i, fpr: f, tpr: roc.tpr[i], threshold: roc.thresholds[i] })).map(
      (p) => ({
        ...p,
        threshold: Number.isFinite(p.threshold) ? p.threshold : null,
      }),
    ),
  );
  const layers: unknown[] = [
    DIAGONAL,
    {
      data: { values: pts },
      mark: { type: 'line', interpolate: 'linear', color: '#4c78a8' },
      encoding: {
        ...ROC_AXES,
        order: { field: 'i' },
      },
    },
  ];
  if (point) layers.push(...pointLayers(1 - point.specificity, point.sensitivity, point.threshold));
  return {
    ...base,
    title: title ?? `ROC curve (AUC ${fmt(auc, 4)})`,
    width: HEIGHT,
    height: HEIGHT,
    layer: layers,
  } as TopLevelSpec;
}

function pointLayers(x: number, y: number, threshold: number): unknown[] {
  return [
    {
      data: { values: [{ x, y, label: `threshold ${fmt(threshold, 3)}` }] },
      mark: { type: 'point', filled: true, size: 90, color: '#e45756' },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
    },
    {
      data: { values: [{ x, y, label: `threshold ${fmt(threshold, 3)}` }] },
      mark: { type: 'text', align: 'left', dx: 8, dy: 12, color: '#e45756' },
      encoding: {
        x: { field: 'x', type: 'quantitative' },
        y: { field: 'y', type: 'quantitative' },
        text: { field: 'label' },
      },
    },
  ];
}

/** Precision–recall step curve with AP in the title, the prevalence baseline and the operating point. */
export function prSpec(
  pr: PrCurve,
  ap: number,
  prevalence: number,
  point?: OperatingPointMark,
): TopLevelSpec {
  const pts = thinPoints(Array.from(pr.recall, (r, i) => ({ i, recall: r, precision: pr.precision[i] })));
  const layers: unknown[] = [
    {
      data: { values: [{ y: prevalence }] },
      mark: { type: 'rule', color: '#999', strokeDash: [4, 4] },
      encoding: { y: { field: 'y', type: 'quantitative' } },
    },
    {
      data: { values: pts },
      // Drawn in the curve's own order (recall decreasing) as steps-post, like scikit-learn's display;
      // ordering by recall would be ambiguous where several points share a recall.
      mark: { type: 'line', interpolate: 'step-after', color: '#4c78a8' },
      encoding: {
        x: {
          field: 'recall',
          type: 'quantitative',
          title: 'Recall (sensitivity)',
          scale: { domain: [0, 1] },
        },
        y: { field: 'precision', type: 'quantitative', title: 'Precision (PPV)', scale: { domain: [0, 1] } },
        order: { field: 'i' },
      },
    },
  ];
  if (point && Number.isFinite(point.ppv))
    layers.push(...pointLayers(point.sensitivity, point.ppv, point.threshold));
  return {
    ...base,
    title: `Precision–recall (AP ${fmt(ap, 4)})`,
    width: HEIGHT,
    height: HEIGHT,
    layer: layers,
  } as TopLevelSpec;
}

/** 2×2 confusion matrix heat map (rows = true class, columns = predicted), counts printed in cells. */
export function confusionMatrixSpec(
  counts: ConfusionCounts,
  classNames: readonly [string, string] = ['normal', 'disease'],
  title = 'Confusion matrix',
): TopLevelSpec {
  const [neg, pos] = classNames;
  const values = [
    { actual: neg, predicted: neg, count: counts.tn, cell: 'TN' },
    { actual: neg, predicted: pos, count: counts.fp, cell: 'FP' },
    { actual: pos, predicted: neg, count: counts.fn, cell: 'FN' },
    { actual: pos, predicted: pos, count: counts.tp, cell: 'TP' },
  ].map((v) => ({ ...v, label: `${v.cell} ${v.count}` }));
  const max = Math.max(counts.tn, counts.fp, counts.fn, counts.tp);
  const enc = {
    x: { field: 'predicted', type: 'nominal', title: 'Predicted', sort: [neg, pos], axis: { labelAngle: 0 } },
    y: { field: 'actual', type: 'nominal', title: 'True', sort: [neg, pos] },
  };
  return {
    ...base,
    title,
    width: 240,
    height: 240,
    data: { values },
    layer: [
      {
        mark: 'rect',
        encoding: {
          ...enc,
          color: {
            field: 'count',
            type: 'quantitative',
            scale: { scheme: 'blues', domain: [0, max] },
            legend: null,
          },
        },
      },
      {
        mark: { type: 'text', fontSize: 16 },
        encoding: {
          ...enc,
          text: { field: 'label' },
          color: { condition: { test: `datum.count > ${max / 2}`, value: 'white' }, value: 'black' },
        },
      },
    ],
  } as TopLevelSpec;
}

/** Sensitivity and specificity against threshold (finite thresholds of the table), with the chosen threshold. */
export function sensSpecSpec(table: readonly BinaryMetrics[], chosen?: number): TopLevelSpec {
  const rows = thinPoints(table.filter((r) => Number.isFinite(r.threshold)));
  const values = rows.flatMap((r) => [
    { threshold: r.threshold, metric: 'sensitivity', value: r.sensitivity },
    { threshold: r.threshold, metric: 'specificity', value: r.specificity },
  ]);
  const layers: unknown[] = [
    {
      data: { values },
      // A rate at threshold t_i holds for t in (t_{i-1}, t_i] (score >= t), hence step-before.
      mark: { type: 'line', interpolate: 'step-before' },
      encoding: {
        x: { field: 'threshold', type: 'quantitative', title: 'Threshold (score ≥ t → disease)' },
        y: { field: 'value', type: 'quantitative', title: 'Rate', scale: { domain: [0, 1] } },
        color: { field: 'metric', type: 'nominal', title: null, legend: { orient: 'bottom' } },
        order: { field: 'threshold' },
      },
    },
  ];
  if (chosen !== undefined && Number.isFinite(chosen)) {
    layers.push({
      data: { values: [{ t: chosen }] },
      mark: { type: 'rule', color: '#e45756', strokeDash: [5, 3] },
      encoding: { x: { field: 't', type: 'quantitative' } },
    });
  }
  return {
    ...base,
    title: 'Sensitivity and specificity by threshold',
    width: WIDTH,
    height: HEIGHT,
    layer: layers,
  } as TopLevelSpec;
}

/** Reliability diagram: observed disease fraction against mean predicted probability per bin. */
export function calibrationSpec(curve: ReliabilityCurve, brier?: number): TopLevelSpec {
  const values = curve.bins
    .filter((b) => b.count > 0)
    .map((b) => ({ predicted: b.meanPredicted, observed: b.fractionPositive, count: b.count }));
  const title =
    `Calibration (ECE ${fmt(curve.ece, 3)}` + (brier !== undefined ? `, Brier ${fmt(brier, 3)})` : ')');
  return {
    ...base,
    title,
    width: HEIGHT,
    height: HEIGHT,
    layer: [
      DIAGONAL,
      {
        data: { values },
        mark: { type: 'line', color: '#4c78a8' },
        encoding: {
          x: {
            field: 'predicted',
            type: 'quantitative',
            title: 'Mean predicted probability',
            scale: { domain: [0, 1] },
          },
          y: {
            field: 'observed',
            type: 'quantitative',
            title: 'Observed disease fraction',
            scale: { domain: [0, 1] },
          },
        },
      },
      {
        data: { values },
        mark: { type: 'circle', color: '#4c78a8', opacity: 0.85 },
        encoding: {
          x: { field: 'predicted', type: 'quantitative' },
          y: { field: 'observed', type: 'quantitative' },
          size: {
            field: 'count',
            type: 'quantitative',
            title: 'images per bin',
            legend: { orient: 'bottom-right' },
          },
        },
      },
    ],
  } as TopLevelSpec;
}

/** One cell of the sweep heat map. */
export interface SweepCell {
  alpha: number;
  gamma: number;
  /** Objective value (higher is better); NaN / undefined for failed trials. */
  objective?: number;
}

/** alpha × gamma heat map of the sweep objective (best value per cell), values printed in cells. */
export function sweepHeatmapSpec(cells: readonly SweepCell[], objectiveName: string): TopLevelSpec {
  const values = cells.map((c) => ({
    alpha: String(c.alpha),
    gamma: String(c.gamma),
    objective: c.objective !== undefined && Number.isFinite(c.objective) ? c.objective : null,
    label: c.objective !== undefined && Number.isFinite(c.objective) ? c.objective.toFixed(3) : 'failed',
  }));
  const finiteValues = values.map((v) => v.objective).filter((v): v is number => v !== null);
  const mid = finiteValues.length > 0 ? (Math.min(...finiteValues) + Math.max(...finiteValues)) / 2 : 0;
  const sortNum = (k: 'alpha' | 'gamma'): string[] =>
    [...new Set(cells.map((c) => c[k]))].sort((a, b) => a - b).map(String);
  const enc = {
    x: {
      field: 'gamma',
      type: 'ordinal',
      title: 'gamma (focusing)',
      sort: sortNum('gamma'),
      axis: { labelAngle: 0 },
    },
    y: { field: 'alpha', type: 'ordinal', title: 'alpha', sort: sortNum('alpha') },
  };
  return {
    ...base,
    title: { text: 'Sweep objective by alpha × gamma', subtitle: objectiveName },
    width: 60 * sortNum('gamma').length,
    height: 50 * sortNum('alpha').length,
    data: { values },
    layer: [
      {
        mark: 'rect',
        encoding: {
          ...enc,
          color: { field: 'objective', type: 'quantitative', scale: { scheme: 'viridis' }, title: null },
        },
      },
      {
        mark: { type: 'text', fontSize: 12 },
        encoding: {
          ...enc,
          text: { field: 'label' },
          // Light text on viridis' dark (low) end, dark text on its bright (high) end.
          color: {
            condition: [
              { test: 'datum.objective === null', value: '#b00' },
              { test: `datum.objective > ${mid}`, value: 'black' },
            ],
            value: 'white',
          },
        },
      },
    ],
  } as TopLevelSpec;
}

/** One curve of an ROC overlay: a label (e.g. "trial 3"), its ROC and AUC. */
export interface RocOverlayCurve {
  name: string;
  roc: RocCurve;
  auc: number;
}

/**
 * ROC curves of several runs on one chart (the sweep page compares 2–4 trials), each named with its
 * AUC in the legend, with the chance diagonal.
 */
export function rocOverlaySpec(
  curves: readonly RocOverlayCurve[],
  title = 'ROC of the chosen trials',
): TopLevelSpec {
  const values = curves.flatMap((c) => {
    const series = `${c.name} (AUC ${fmt(c.auc, 3)})`;
    return thinPoints(Array.from(c.roc.fpr, (fpr, i) => ({ i, series, fpr, tpr: c.roc.tpr[i] })));
  });
  return {
    ...base,
    title,
    width: HEIGHT,
    height: HEIGHT,
    layer: [
      DIAGONAL,
      {
        data: { values },
        mark: { type: 'line', interpolate: 'linear' },
        encoding: {
          ...ROC_AXES,
          color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom-right' } },
          order: { field: 'i' },
        },
      },
    ],
  } as TopLevelSpec;
}

/** Counts of probabilities in equal-width bins over [0, 1]; the last bin includes 1. */
export function probabilityBins(probabilities: ArrayLike<number>, nBins = 10): number[] {
  const counts = new Array<number>(nBins).fill(0);
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i];
    if (!Number.isFinite(p) || p < 0 || p > 1) continue;
    counts[Math.min(nBins - 1, Math.floor(p * nBins))] += 1;
  }
  return counts;
}

/**
 * Histogram of predicted P(disease) from equal-width bin counts over [0, 1], with the decision
 * threshold drawn as a rule when given.
 */
export function probabilityHistogramSpec(
  binCounts: readonly number[],
  threshold?: number,
  title = 'Predicted P(disease)',
): TopLevelSpec {
  const n = binCounts.length;
  const values = binCounts.map((count, i) => ({ from: i / n, to: (i + 1) / n, count, zero: 0 }));
  const layers: unknown[] = [
    {
      data: { values },
      mark: { type: 'rect', color: '#4c78a8', stroke: 'white' },
      encoding: {
        x: { field: 'from', type: 'quantitative', title: 'P(disease)', scale: { domain: [0, 1] } },
        x2: { field: 'to' },
        y: { field: 'count', type: 'quantitative', title: 'Images' },
        y2: { field: 'zero' },
        tooltip: [
          { field: 'from', type: 'quantitative', title: 'from', format: '.2f' },
          { field: 'to', type: 'quantitative', title: 'to', format: '.2f' },
          { field: 'count', type: 'quantitative', title: 'images' },
        ],
      },
    },
  ];
  if (threshold !== undefined && Number.isFinite(threshold)) {
    layers.push({
      data: { values: [{ t: threshold }] },
      mark: { type: 'rule', color: '#d62728', strokeDash: [4, 3], strokeWidth: 2 },
      encoding: { x: { field: 't', type: 'quantitative' } },
    });
  }
  return { ...base, title, width: WIDTH, height: 180, layer: layers } as TopLevelSpec;
}
