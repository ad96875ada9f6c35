import type { BinaryMetrics, RateMetricName } from '../confusion';
import type { ClassificationReport } from '../classification-report';
import type { ThresholdSelection } from '../policies';
import type { BootstrapInterval, BootstrapOptions, DelongInterval } from '../uncertainty';
import type { EpochRecord } from '../plots/specs';
import type { RenderedPlot } from '../plots/render';
import type { Labels, Scores } from '../validate';

/** Labels (1 = disease, 0 = normal) with model scores (probability of disease, [0, 1] for calibration). */
export interface LabelledScores {
  labels: Labels;
  scores: Scores;
}

/** Image counts of one split. */
export interface SplitCounts {
  normal: number;
  disease: number;
}

/** What the run was trained and evaluated on. */
export interface DatasetSummary {
  name: string;
  /** The explicit label map, e.g. { disease: 1, normal: 0 } (never inferred from folder order). */
  labelMap?: Record<string, number>;
  /** Content digest of the dataset version. */
  digest?: string;
  splits: { train?: SplitCounts; validation?: SplitCounts; test?: SplitCounts };
}

/** Everything a run report needs. The threshold must have been chosen on the VALIDATION split. */
export interface RunReportInput {
  runId: string;
  /** Page title; default "Run <runId>". */
  title?: string;
  /** ISO-8601 time stamp printed in the report (default: none, so output is reproducible). */
  createdAt?: string;
  /** Training configuration (architecture, loss, alpha, gamma, lr, seed, backend…), printed as JSON. */
  config: Record<string, unknown>;
  dataset: DatasetSummary;
  epochs: readonly EpochRecord[];
  /** Test-split labels and scores; metrics are computed at `threshold.threshold`. */
  test: LabelledScores;
  /** The selection made on validation scores (from `selectThreshold`). */
  threshold: ThresholdSelection;
  /** [negative, positive] names; default ['normal', 'disease']. */
  classNames?: readonly [string, string];
  /** Bootstrap settings for the test-set CIs (default 1000 stratified resamples, seed 0). */
  bootstrap?: BootstrapOptions;
  /** Reliability-curve bins (default 10). */
  calibrationBins?: number;
  /** Decimals of the per-class table (default 2, like the seed report). */
  digits?: number;
}

/** The numbers of a run report, for storing in the database. */
export interface RunReportSummary {
  runId: string;
  threshold: number;
  policy: string;
  /** Whether the policy's target was met on validation. */
  policyMet: boolean;
  validation?: BinaryMetrics;
  test: BinaryMetrics;
  auc: number;
  aucCi: DelongInterval | null;
  averagePrecision: number;
  /** Brier score and ECE; null when the scores are not probabilities. */
  brier: number | null;
  ece: number | null;
  ci: Partial<Record<RateMetricName, BootstrapInterval>>;
  classificationReport: ClassificationReport;
}

/** A finished report: text forms, plots and numbers. */
export interface RunReport {
  summary: RunReportSummary;
  markdown: string;
  /** Self-contained page (inline CSS and SVG). */
  html: string;
  plots: RenderedPlot[];
}

/** One trial of a sweep, as the sweep parent job collects it. */
export interface SweepTrialResult {
  runId: string;
  alpha: number;
  gamma: number;
  learningRate?: number;
  status: 'completed' | 'failed' | 'cancelled';
  /** Objective on validation, higher is better (default objective: specificity at sensitivity ≥ 0.95). */
  objective?: number;
  /** Validation AUC (tie-breaker). */
  auc?: number;
  threshold?: number;
  sensitivity?: number;
  specificity?: number;
  error?: string;
}

export interface SweepReportInput {
  sweepId: string;
  title?: string;
  createdAt?: string;
  /** Plain-words objective, e.g. "specificity at sensitivity ≥ 0.95 (validation)". */
  objectiveName: string;
  trials: readonly SweepTrialResult[];
}

export interface SweepReport {
  /** Completed trials best first, then the rest. */
  leaderboard: SweepTrialResult[];
  best: SweepTrialResult | null;
  markdown: string;
  html: string;
  plots: RenderedPlot[];
}
