import {
  cumulativeCounts,
  prFromCounts,
  rocFromCounts,
  thresholdTableFromCounts,
  type BinaryMetrics,
} from '@fundus/metrics';

/** What the dashboard draws for a run, computed from its stored validation scores. */
export interface RunCurves {
  /** ROC points (scikit-learn layout, collinear points dropped); threshold null for +∞. */
  roc: Array<{ fpr: number; tpr: number; threshold: number | null }>;
  pr: Array<{ recall: number; precision: number; threshold: number | null }>;
  /** Metrics at candidate thresholds, descending; at most `maxRows` rows (evenly thinned). */
  thresholdTable: Array<Omit<BinaryMetrics, 'threshold'> & { threshold: number | null }>;
  /** Number of validation images the curves come from. */
  n: number;
}

/** Labels and scores stored with a split's metrics (`{ labels, scores, ... }` JSON), else null. */
export function storedScores(metrics: unknown): { labels: number[]; scores: number[] } | null {
  const v = metrics as { labels?: unknown; scores?: unknown } | null;
  if (
    !v ||
    !Array.isArray(v.labels) ||
    !Array.isArray(v.scores) ||
    v.labels.length !== v.scores.length ||
    v.labels.length === 0
  )
    return null;
  return { labels: v.labels as number[], scores: v.scores as number[] };
}

/** A stored metrics JSON object without its raw `labels` and `scores` arrays (for run details). */
export function withoutScores(metrics: unknown): unknown {
  if (!metrics || typeof metrics !== 'object' || Array.isArray(metrics)) return metrics;
  const { labels: _labels, scores: _scores, ...rest } = metrics as Record<string, unknown>;
  return rest;
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

function thin<T>(rows: T[], max: number): T[] {
  if (rows.length <= max) return rows;
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(rows[Math.round((i * (rows.length - 1)) / (max - 1))]);
  return out;
}

/**
 * ROC, PR and threshold table from `Run.valMetrics.labels/scores` (validation split, where the
 * operating threshold was chosen). Null when the run stored no scores or they hold one class only.
 */
export function runCurves(valMetrics: unknown, maxRows = 200): RunCurves | null {
  const v = storedScores(valMetrics);
  if (!v) return null;
  let c;
  try {
    c = cumulativeCounts(v.labels, v.scores);
  } catch {
    return null; // malformed stored scores: show the run without curves
  }
  if (c.positives === 0 || c.negatives === 0) return null;
  const roc = rocFromCounts(c);
  const pr = prFromCounts(c);
  return {
    n: c.n,
    roc: Array.from(roc.fpr, (fpr, i) => ({ fpr, tpr: roc.tpr[i], threshold: finite(roc.thresholds[i]) })),
    pr: Array.from(pr.recall, (recall, i) => ({
      recall,
      precision: pr.precision[i],
      threshold: i < pr.thresholds.length ? pr.thresholds[i] : null,
    })),
    thresholdTable: thin(thresholdTableFromCounts(c), maxRows).map((r) => ({
      ...r,
      threshold: finite(r.threshold ?? NaN),
    })),
  };
}
