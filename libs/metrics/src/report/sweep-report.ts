import { aucFromCounts, cumulativeCounts } from '../curves';
import { formatFixed } from '../format';
import { selectFromCounts, type ThresholdSelection } from '../policies';
import { renderPlot } from '../plots/render';
import { sweepHeatmapSpec, type SweepCell } from '../plots/specs';
import { Labels, Scores, requireBothClasses, requireInRange } from '../validate';
import { Block, toHtml, toMarkdown } from './blocks';
import type { SweepReport, SweepReportInput, SweepTrialResult } from './types';

/** The default sweep objective and its parts, computed on one trial's validation scores. */
export interface SweepObjective {
  /** Specificity at the best threshold with sensitivity ≥ target, in [0, 1]. */
  objective: number;
  /** Validation ROC AUC, the tie-breaker. */
  auc: number;
  selection: ThresholdSelection;
}

/**
 * DESIGN.md's default sweep objective: specificity at sensitivity ≥ `targetSensitivity` (default 0.95)
 * on validation scores, with AUC as tie-breaker. One sort; no retraining.
 */
export function specificityAtSensitivityObjective(
  labels: Labels,
  scores: Scores,
  targetSensitivity = 0.95,
): SweepObjective {
  requireInRange(targetSensitivity, 0, 1, 'target sensitivity');
  const c = cumulativeCounts(labels, scores);
  requireBothClasses(c, 'sweep objective');
  const selection = selectFromCounts(c, { kind: 'sensitivity-at-least', target: targetSensitivity });
  return { objective: selection.metrics.specificity, auc: aucFromCounts(c), selection };
}

const finite = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);

/**
 * Ranks trials: completed trials with a finite objective first, by objective descending, then AUC
 * descending, then runId; everything else after, in input order.
 */
export function rankTrials(trials: readonly SweepTrialResult[]): SweepTrialResult[] {
  const ok = trials.filter((t) => t.status === 'completed' && finite(t.objective));
  const rest = trials.filter((t) => !(t.status === 'completed' && finite(t.objective)));
  ok.sort(
    (a, b) =>
      (b.objective as number) - (a.objective as number) ||
      (finite(b.auc) ? b.auc : -Infinity) - (finite(a.auc) ? a.auc : -Infinity) ||
      (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0),
  );
  return [...ok, ...rest];
}

/** Builds the sweep report: leaderboard table and an alpha × gamma heat map (best objective per cell). */
export async function buildSweepReport(input: SweepReportInput): Promise<SweepReport> {
  const leaderboard = rankTrials(input.trials);
  const best =
    leaderboard.length > 0 && leaderboard[0].status === 'completed' && finite(leaderboard[0].objective)
      ? leaderboard[0]
      : null;
  const cellMap = new Map<string, SweepCell>();
  for (const t of input.trials) {
    const key = `${t.alpha}|${t.gamma}`;
    const prev = cellMap.get(key);
    const obj = t.status === 'completed' && finite(t.objective) ? t.objective : undefined;
    if (!prev) cellMap.set(key, { alpha: t.alpha, gamma: t.gamma, objective: obj });
    else if (obj !== undefined && !(finite(prev.objective) && prev.objective >= obj)) prev.objective = obj;
  }
  const plots = [
    await renderPlot(
      'heatmap',
      `alpha × gamma: best ${input.objectiveName} per cell`,
      sweepHeatmapSpec([...cellMap.values()], input.objectiveName),
    ),
  ];
  const f = (x: number | undefined, d = 4): string => (finite(x) ? formatFixed(x, d) : 'n/a');
  const title = input.title ?? `Sweep ${input.sweepId}`;
  const blocks: Block[] = [
    { kind: 'heading', level: 1, text: title },
    {
      kind: 'paragraph',
      text:
        `Sweep \`${input.sweepId}\`` +
        (input.createdAt ? `, report generated ${input.createdAt}` : '') +
        `: ${input.trials.length} trials, ${leaderboard.filter((t) => t.status === 'completed').length} completed. ` +
        `Objective: **${input.objectiveName}** (higher is better; ties broken by validation AUC).` +
        (best
          ? ` Best: \`${best.runId}\` (alpha ${best.alpha}, gamma ${best.gamma}) with ${f(best.objective)}.`
          : ''),
    },
    { kind: 'heading', level: 2, text: 'Leaderboard' },
    {
      kind: 'table',
      header: [
        'Rank',
        'Run',
        'alpha',
        'gamma',
        'lr',
        'Objective',
        'AUC',
        'Threshold',
        'Sensitivity',
        'Specificity',
        'Status',
      ],
      rows: leaderboard.map((t, i) => [
        t.status === 'completed' && finite(t.objective) ? String(i + 1) : '—',
        `\`${t.runId}\``,
        String(t.alpha),
        String(t.gamma),
        t.learningRate === undefined ? '' : String(t.learningRate),
        f(t.objective),
        f(t.auc),
        f(t.threshold),
        f(t.sensitivity),
        f(t.specificity),
        t.status + (t.error ? `: ${t.error}` : ''),
      ]),
      align: [
        'right',
        'left',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'right',
        'left',
      ],
    },
    { kind: 'heading', level: 2, text: 'Objective by alpha and gamma' },
    { kind: 'plot', name: 'heatmap', title: plots[0].title },
  ];
  return {
    leaderboard,
    best,
    markdown: toMarkdown(blocks),
    html: toHtml(title, blocks, new Map(plots.map((p) => [p.name, p.svg]))),
    plots,
  };
}
