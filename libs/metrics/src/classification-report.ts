import { ConfusionCounts } from './confusion';
import { MetricsError } from './errors';
import { formatFixed } from './format';

/** One row of a per-class table. */
export interface ClassReportRow {
  name: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** scikit-learn's `classification_report(output_dict=True)` for the binary case, as an object. */
export interface ClassificationReport {
  /** Negative class first (normal), then positive (disease) — the seed report's order. */
  classes: [ClassReportRow, ClassReportRow];
  accuracy: number;
  support: number;
  macroAvg: Omit<ClassReportRow, 'name'>;
  weightedAvg: Omit<ClassReportRow, 'name'>;
}

export interface ClassificationReportOptions {
  /** [negative, positive] class names. Default ['normal', 'disease']. */
  classNames?: readonly [string, string];
  /** Value used where a denominator is 0, like scikit-learn's `zero_division` (default 0). */
  zeroDivision?: number;
}

/**
 * Per-class precision, recall, F1 and support, accuracy, macro and weighted averages from confusion
 * counts, with scikit-learn's definitions (F1 = 2PR / (P + R) computed from counts, `zeroDivision` when undefined).
 */
export function classificationReport(
  counts: ConfusionCounts,
  options: ClassificationReportOptions = {},
): ClassificationReport {
  const [negName, posName] = options.classNames ?? ['normal', 'disease'];
  const zd = options.zeroDivision ?? 0;
  const { tp, fp, tn, fn } = counts;
  const n = tp + fp + tn + fn;
  if (n === 0) throw new MetricsError('EMPTY_INPUT', 'confusion counts are all zero');
  const div = (a: number, b: number): number => (b === 0 ? zd : a / b);
  // F1 from counts, 2·TP / (2·TP + FP + FN), as scikit-learn computes it (no rounding of P and R first).
  const row = (name: string, correct: number, predicted: number, support: number): ClassReportRow => {
    const precision = div(correct, predicted);
    const recall = div(correct, support);
    const f1 = div(2 * correct, predicted + support);
    return { name, precision, recall, f1, support };
  };
  const neg = row(negName, tn, tn + fn, tn + fp);
  const pos = row(posName, tp, tp + fp, tp + fn);
  const avg = (w0: number, w1: number): Omit<ClassReportRow, 'name'> => ({
    precision: (w0 * neg.precision + w1 * pos.precision) / (w0 + w1),
    recall: (w0 * neg.recall + w1 * pos.recall) / (w0 + w1),
    f1: (w0 * neg.f1 + w1 * pos.f1) / (w0 + w1),
    support: n,
  });
  return {
    classes: [neg, pos],
    accuracy: (tp + tn) / n,
    support: n,
    macroAvg: avg(1, 1),
    weightedAvg: neg.support + pos.support === 0 ? avg(1, 1) : avg(neg.support, pos.support),
  };
}

/**
 * The report as text, character for character in scikit-learn's `classification_report` layout
 * (right-aligned columns of width 9, `digits` decimals, default 2, rounded like Python).
 */
export function formatClassificationReport(report: ClassificationReport, digits = 2): string {
  const headers = ['precision', 'recall', 'f1-score', 'support'];
  const width = Math.max(...report.classes.map((c) => c.name.length), 'weighted avg'.length, digits);
  const padL = (s: string, w: number): string => s.padStart(w);
  const num = (x: number): string => ' ' + padL(formatFixed(x, digits), 9);
  const sup = (x: number): string => ' ' + padL(String(x), 9);
  let out = padL('', width) + ' ' + headers.map((h) => ' ' + padL(h, 9)).join('') + '\n\n';
  for (const c of report.classes) {
    out += padL(c.name, width) + ' ' + num(c.precision) + num(c.recall) + num(c.f1) + sup(c.support) + '\n';
  }
  out += '\n';
  out +=
    padL('accuracy', width) +
    ' ' +
    ' ' +
    padL('', 9) +
    ' ' +
    padL('', 9) +
    num(report.accuracy) +
    sup(report.support) +
    '\n';
  for (const [label, a] of [
    ['macro avg', report.macroAvg],
    ['weighted avg', report.weightedAvg],
  ] as const) {
    out += padL(label, width) + ' ' + num(a.precision) + num(a.recall) + num(a.f1) + sup(a.support) + '\n';
  }
  return out;
}

/**
 * The report as a Markdown table in the seed report's layout (centred columns, "\" in the accuracy
 * row's empty cells), `digits` decimals (default 2).
 */
export function classificationReportMarkdown(report: ClassificationReport, digits = 2): string {
  const f = (x: number): string => formatFixed(x, digits);
  const lines = [
    '|              | precision | recall | f1-score | support |',
    '| :----------: | :-------: | :----: | :------: | :-----: |',
  ];
  for (const c of report.classes) {
    lines.push(`| ${c.name} | ${f(c.precision)} | ${f(c.recall)} | ${f(c.f1)} | ${c.support} |`);
  }
  lines.push(`| accuracy | \\ | \\ | ${f(report.accuracy)} | ${report.support} |`);
  lines.push(
    `| macro avg | ${f(report.macroAvg.precision)} | ${f(report.macroAvg.recall)} | ${f(report.macroAvg.f1)} | ${report.macroAvg.support} |`,
  );
  lines.push(
    `| weighted avg | ${f(report.weightedAvg.precision)} | ${f(report.weightedAvg.recall)} | ${f(report.weightedAvg.f1)} | ${report.weightedAvg.support} |`,
  );
  return lines.join('\n') + '\n';
}
