import { brierScore, reliabilityCurve } from '../calibration';
import {
  classificationReport,
  classificationReportMarkdown,
  formatClassificationReport,
} from '../classification-report';
import { RateMetricName } from '../confusion';
import {
  apFromCounts,
  aucFromCounts,
  cumulativeCounts,
  prFromCounts,
  rocFromCounts,
  thresholdTableFromCounts,
} from '../curves';
import { MetricsError } from '../errors';
import { formatFixed } from '../format';
import { describePolicy, selectFromCounts } from '../policies';
import { renderPlot, type RenderedPlot } from '../plots/render';
import {
  calibrationSpec,
  confusionMatrixSpec,
  lossCurveSpec,
  prSpec,
  rocSpec,
  sensSpecSpec,
  type OperatingPointMark,
} from '../plots/specs';
import { bootstrapMetricsAtThreshold, delongAucCi, DelongInterval } from '../uncertainty';
import { requireBothClasses } from '../validate';
import { Block, toHtml, toMarkdown } from './blocks';
import type { RunReport, RunReportInput, RunReportSummary } from './types';

const pct = (x: number): string => (Number.isFinite(x) ? `${formatFixed(100 * x, 1)}%` : 'n/a');
const num = (x: number | null | undefined, d = 4): string =>
  x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : formatFixed(x, d);
const ciText = (lo: number, hi: number, asPct: boolean): string =>
  asPct ? `${pct(lo)} – ${pct(hi)}` : `${num(lo)} – ${num(hi)}`;

function isProbability(scores: ArrayLike<number>): boolean {
  for (let i = 0; i < scores.length; i++) if (!(scores[i] >= 0 && scores[i] <= 1)) return false;
  return true;
}

/**
 * Computes every test-set number of a run at the validation-chosen threshold (no plots).
 * Throws `SINGLE_CLASS` when the test split lacks a class.
 */
export function computeRunSummary(input: RunReportInput): RunReportSummary {
  const { labels, scores } = input.test;
  const counts = cumulativeCounts(labels, scores);
  requireBothClasses(counts, 'run report (test split)');
  const t = input.threshold.threshold;
  if (Number.isNaN(t)) throw new MetricsError('INVALID_ARGUMENT', 'threshold is NaN');
  const test = selectFromCounts(counts, { kind: 'fixed', threshold: t }).metrics;
  const probs = isProbability(scores);
  let aucCi: DelongInterval | null = null;
  if (counts.positives >= 2 && counts.negatives >= 2) aucCi = delongAucCi(labels, scores);
  const ciMetrics: RateMetricName[] = ['sensitivity', 'specificity', 'ppv', 'npv', 'accuracy', 'f1'];
  const ci = bootstrapMetricsAtThreshold(labels, scores, t, ciMetrics, input.bootstrap ?? {});
  return {
    runId: input.runId,
    threshold: t,
    policy: describePolicy(input.threshold.policy),
    policyMet: input.threshold.met,
    validation: input.threshold.metrics,
    test,
    auc: aucFromCounts(counts),
    aucCi,
    averagePrecision: apFromCounts(counts),
    brier: probs ? brierScore(labels, scores) : null,
    ece: probs ? reliabilityCurve(labels, scores, input.calibrationBins ?? 10).ece : null,
    ci,
    classificationReport: classificationReport(test, { classNames: input.classNames }),
  };
}

/**
 * Builds the full run report: summary numbers, Markdown, self-contained HTML and six plots
 * (loss, ROC, PR, confusion matrix, sensitivity/specificity by threshold, calibration when scores are
 * probabilities). Deterministic for the same input (bootstrap is seeded). Async because rendering is.
 */
export async function buildRunReport(input: RunReportInput): Promise<RunReport> {
  const summary = computeRunSummary(input);
  const { labels, scores } = input.test;
  const counts = cumulativeCounts(labels, scores);
  const classNames = input.classNames ?? (['normal', 'disease'] as const);
  const m = summary.test;
  const point: OperatingPointMark = {
    threshold: summary.threshold,
    sensitivity: m.sensitivity,
    specificity: m.specificity,
    ppv: m.ppv,
  };
  const table = thresholdTableFromCounts(counts);
  const plotSpecs: [string, string, Parameters<typeof renderPlot>[2]][] = [];
  if (input.epochs.length > 0)
    plotSpecs.push(['loss', 'Training and validation loss per epoch', lossCurveSpec(input.epochs)]);
  plotSpecs.push(
    ['roc', 'ROC curve (test) with the operating point', rocSpec(rocFromCounts(counts), summary.auc, point)],
    [
      'pr',
      'Precision–recall curve (test)',
      prSpec(prFromCounts(counts), summary.averagePrecision, m.prevalence, point),
    ],
    [
      'confusion-matrix',
      'Confusion matrix (test) at the operating threshold',
      confusionMatrixSpec(m, classNames),
    ],
    ['sens-spec', 'Sensitivity and specificity by threshold (test)', sensSpecSpec(table, summary.threshold)],
  );
  if (summary.ece !== null) {
    plotSpecs.push([
      'calibration',
      'Reliability diagram (test)',
      calibrationSpec(
        reliabilityCurve(labels, scores, input.calibrationBins ?? 10),
        summary.brier ?? undefined,
      ),
    ]);
  }
  const plots: RenderedPlot[] = [];
  for (const [name, title, spec] of plotSpecs) plots.push(await renderPlot(name, title, spec));

  const blocks = runReportBlocks(input, summary, plots);
  const title = input.title ?? `Run ${input.runId}`;
  return {
    summary,
    markdown: toMarkdown(blocks),
    html: toHtml(title, blocks, new Map(plots.map((p) => [p.name, p.svg]))),
    plots,
  };
}

function runReportBlocks(input: RunReportInput, s: RunReportSummary, plots: RenderedPlot[]): Block[] {
  const m = s.test;
  const digits = input.digits ?? 2;
  const [negName, posName] = input.classNames ?? ['normal', 'disease'];
  const b: Block[] = [];
  const plot = (name: string): void => {
    const p = plots.find((x) => x.name === name);
    if (p) b.push({ kind: 'plot', name: p.name, title: p.title });
  };
  b.push({ kind: 'heading', level: 1, text: input.title ?? `Run ${input.runId}` });
  b.push({
    kind: 'paragraph',
    text:
      `Run \`${input.runId}\`` +
      (input.createdAt ? `, report generated ${input.createdAt}` : '') +
      `. Positive class: **${posName}** (label 1); negative: ${negName} (label 0). ` +
      `Decision rule: predict ${posName} when score ≥ threshold.`,
  });

  b.push({ kind: 'heading', level: 2, text: 'Operating point' });
  b.push({
    kind: 'paragraph',
    text:
      `Threshold **${s.threshold === Infinity ? '+Infinity (nothing is called disease)' : num(s.threshold, 6)}**, chosen on the validation split by the policy: ${s.policy}. ` +
      (s.policyMet
        ? 'The policy target was met on validation.'
        : `**The policy target was NOT met on validation**: ${input.threshold.reason ?? ''}`) +
      (s.policyMet && input.threshold.reason ? ` Note: ${input.threshold.reason}.` : ''),
  });
  const v = s.validation;
  const ci = (k: RateMetricName): string => {
    const c = s.ci[k];
    return c ? ciText(c.lower, c.upper, k !== 'youdenJ' && k !== 'f1') : 'n/a';
  };
  const rows: string[][] = [
    ['Sensitivity (recall of disease)', pct(m.sensitivity), ci('sensitivity'), v ? pct(v.sensitivity) : ''],
    ['Specificity (recall of normal)', pct(m.specificity), ci('specificity'), v ? pct(v.specificity) : ''],
    ['PPV (precision of disease)', pct(m.ppv), ci('ppv'), v ? pct(v.ppv) : ''],
    ['NPV', pct(m.npv), ci('npv'), v ? pct(v.npv) : ''],
    ['Accuracy', pct(m.accuracy), ci('accuracy'), v ? pct(v.accuracy) : ''],
    ['F1 (disease)', num(m.f1), ci('f1'), v ? num(v.f1) : ''],
    ['Youden J', num(m.youdenJ), '', v ? num(v.youdenJ) : ''],
    [
      'ROC AUC',
      num(s.auc),
      s.aucCi ? `${ciText(s.aucCi.lower, s.aucCi.upper, false)} (DeLong)` : 'n/a (needs ≥ 2 per class)',
      '',
    ],
    ['Average precision', num(s.averagePrecision), '', ''],
    ['Brier score', num(s.brier), '', ''],
    ['Expected calibration error', num(s.ece), '', ''],
  ];
  b.push({
    kind: 'table',
    header: ['Metric (test split)', 'Value', '95% CI', 'Validation'],
    rows,
    align: ['left', 'right', 'right', 'right'],
  });
  const anyCi = Object.values(s.ci)[0];
  b.push({
    kind: 'paragraph',
    text:
      (anyCi
        ? `Rate CIs: stratified percentile bootstrap, ${anyCi.iterations} resamples, seed ${anyCi.seed}, threshold held fixed. `
        : '') +
      'AUC CI: DeLong variance, normal approximation. Reference point: IDx-DR’s FDA endpoints were sensitivity > 85% and specificity > 82.5%.',
  });

  b.push({ kind: 'heading', level: 2, text: 'Per-class report (test)' });
  b.push({
    kind: 'raw-markdown',
    markdown: classificationReportMarkdown(s.classificationReport, digits),
    html: classificationHtml(s, digits),
  });
  b.push({ kind: 'code', text: formatClassificationReport(s.classificationReport, digits) });

  b.push({ kind: 'heading', level: 2, text: 'Confusion matrix (test)' });
  b.push({
    kind: 'table',
    header: ['', `predicted ${negName}`, `predicted ${posName}`],
    rows: [
      [`true ${negName}`, `TN ${m.tn}`, `FP ${m.fp}`],
      [`true ${posName}`, `FN ${m.fn}`, `TP ${m.tp}`],
    ],
    align: ['left', 'right', 'right'],
  });
  plot('confusion-matrix');

  b.push({ kind: 'heading', level: 2, text: 'Curves (test)' });
  plot('roc');
  plot('pr');
  plot('sens-spec');
  plot('calibration');

  if (input.epochs.length > 0) {
    b.push({ kind: 'heading', level: 2, text: 'Training' });
    plot('loss');
    b.push({
      kind: 'table',
      header: ['Epoch', 'Train loss', 'Validation loss', 'Validation AUC', 'Learning rate', 'Seconds'],
      rows: input.epochs.map((e) => [
        String(e.epoch),
        num(e.trainLoss),
        num(e.valLoss),
        num(e.valAuc),
        e.lr === undefined ? 'n/a' : String(e.lr),
        e.seconds === undefined ? 'n/a' : formatFixed(e.seconds, 1),
      ]),
      align: ['right', 'right', 'right', 'right', 'right', 'right'],
    });
  }

  b.push({ kind: 'heading', level: 2, text: 'Dataset' });
  const d = input.dataset;
  b.push({
    kind: 'paragraph',
    text:
      `Dataset **${d.name}**` +
      (d.digest ? `, digest \`${d.digest}\`` : '') +
      (d.labelMap ? `, label map \`${JSON.stringify(d.labelMap)}\`` : '') +
      '.',
  });
  const splitRows = (['train', 'validation', 'test'] as const)
    .filter((k) => d.splits[k])
    .map((k) => {
      const c = d.splits[k]!;
      return [k, String(c.normal), String(c.disease), String(c.normal + c.disease)];
    });
  if (splitRows.length > 0) {
    b.push({
      kind: 'table',
      header: ['Split', negName, posName, 'total'],
      rows: splitRows,
      align: ['left', 'right', 'right', 'right'],
    });
  }

  b.push({ kind: 'heading', level: 2, text: 'Configuration' });
  b.push({ kind: 'code', text: JSON.stringify(input.config, null, 2) });
  return b;
}

function classificationHtml(s: RunReportSummary, digits: number): string {
  const f = (x: number): string => formatFixed(x, digits);
  const r = s.classificationReport;
  const tr = (cells: string[]): string =>
    `<tr>${cells.map((c, i) => (i === 0 ? `<th>${c}</th>` : `<td class="center">${c}</td>`)).join('')}</tr>`;
  const esc = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const rows = [
    ...r.classes.map((c) => tr([esc(c.name), f(c.precision), f(c.recall), f(c.f1), String(c.support)])),
    tr(['accuracy', '', '', f(r.accuracy), String(r.support)]),
    tr([
      'macro avg',
      f(r.macroAvg.precision),
      f(r.macroAvg.recall),
      f(r.macroAvg.f1),
      String(r.macroAvg.support),
    ]),
    tr([
      'weighted avg',
      f(r.weightedAvg.precision),
      f(r.weightedAvg.recall),
      f(r.weightedAvg.f1),
      String(r.weightedAvg.support),
    ]),
  ];
  return (
    '<table><thead><tr><th></th><th>precision</th><th>recall</th><th>f1-score</th><th>support</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

/** Files of a report, relative paths → content, for a local folder or an object store. */
export interface ReportFile {
  path: string;
  contentType: string;
  body: Buffer | string;
}

/**
 * Lists a run or sweep report's files: report.md, report.html, summary.json (when given),
 * plots/<name>.png, .svg and .vl.json (the Vega-Lite spec, for the dashboard).
 */
export function reportFiles(
  report: { markdown: string; html: string; plots: RenderedPlot[] },
  summary?: unknown,
): ReportFile[] {
  const files: ReportFile[] = [
    { path: 'report.md', contentType: 'text/markdown; charset=utf-8', body: report.markdown },
    { path: 'report.html', contentType: 'text/html; charset=utf-8', body: report.html },
  ];
  if (summary !== undefined) {
    files.push({
      path: 'summary.json',
      contentType: 'application/json',
      body:
        JSON.stringify(
          summary,
          (_k, val) => (typeof val === 'number' && !Number.isFinite(val) ? String(val) : val),
          2,
        ) + '\n',
    });
  }
  for (const p of report.plots) {
    files.push({ path: `plots/${p.name}.png`, contentType: 'image/png', body: p.png });
    files.push({ path: `plots/${p.name}.svg`, contentType: 'image/svg+xml', body: p.svg });
    files.push({
      path: `plots/${p.name}.vl.json`,
      contentType: 'application/json',
      body: JSON.stringify(p.spec, null, 2) + '\n',
    });
  }
  return files;
}
