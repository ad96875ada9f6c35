/**
 * Regenerates the committed example reports in docs/example-report/ from fixture data
 * (libs/metrics/fixtures/example-run.json and example-sweep.json — synthetic scores, not patients):
 *   npx tsx libs/metrics/scripts/generate-example-report.ts [outDir]
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  buildRunReport,
  buildSweepReport,
  computeRunSummary,
  reportFiles,
  selectThreshold,
  sensitivityAtLeast,
  specificityAtSensitivityObjective,
  type ReportFile,
  type RunReportInput,
  type SweepTrialResult,
} from '../src';

const root = path.resolve(__dirname, '..', '..', '..');
const fixtures = path.join(root, 'libs', 'metrics', 'fixtures');
const read = (f: string) => JSON.parse(fs.readFileSync(path.join(fixtures, f), 'utf8'));

function write(dir: string, files: ReportFile[]): void {
  for (const f of files) {
    const p = path.join(dir, f.path);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, f.body);
  }
}

const count = (labels: number[]) => ({
  normal: labels.filter((y) => y === 0).length,
  disease: labels.filter((y) => y === 1).length,
});

/** The example run's report input (also used by the report tests). */
export function exampleRunInput(): RunReportInput {
  const run = read('example-run.json');
  // Threshold chosen on VALIDATION scores, then applied unchanged to the test split.
  const threshold = selectThreshold(run.validation.labels, run.validation.scores, sensitivityAtLeast(0.95));
  return {
    runId: 'example-run-0001',
    title: 'Example run report (synthetic data)',
    config: {
      architecture: 'resnet50',
      inputSize: 224,
      loss: { kind: 'focal-seed', alpha: 2, gamma: 2 },
      optimizer: 'adam',
      learningRate: 0.001,
      batchSize: 32,
      epochs: run.epochs.length,
      seed: 42,
      backend: 'webgpu',
    },
    dataset: {
      name: 'synthetic-fundus-example',
      labelMap: { disease: 1, normal: 0 },
      digest: 'sha256:example',
      splits: {
        train: { normal: 993, disease: 646 },
        validation: count(run.validation.labels),
        test: count(run.test.labels),
      },
    },
    epochs: run.epochs,
    test: run.test,
    threshold,
  };
}

/** The example sweep's trials, each scored with the default objective on its validation scores. */
export function exampleSweepTrials(): SweepTrialResult[] {
  const sweep = read('example-sweep.json');
  const trials: SweepTrialResult[] = sweep.trials.map(
    (t: {
      runId: string;
      alpha: number;
      gamma: number;
      validation: { labels: number[]; scores: number[] };
    }) => {
      const o = specificityAtSensitivityObjective(t.validation.labels, t.validation.scores, 0.95);
      return {
        runId: t.runId,
        alpha: t.alpha,
        gamma: t.gamma,
        learningRate: 0.001,
        status: 'completed',
        objective: o.objective,
        auc: o.auc,
        threshold: o.selection.threshold,
        sensitivity: o.selection.metrics.sensitivity,
        specificity: o.selection.metrics.specificity,
      };
    },
  );
  // Show how a failed trial appears.
  const failed = trials.find((t) => t.alpha === 2 && t.gamma === 3);
  if (failed) {
    Object.assign(failed, { status: 'failed', error: 'out of memory (example)' });
    for (const k of ['objective', 'auc', 'threshold', 'sensitivity', 'specificity'] as const)
      delete failed[k];
  }
  return trials;
}

async function main(): Promise<void> {
  const out = path.resolve(process.argv[2] ?? path.join(root, 'docs', 'example-report'));
  const input = exampleRunInput();
  const run = await buildRunReport(input);
  write(path.join(out, 'run'), reportFiles(run, computeRunSummary(input)));
  const sweep = await buildSweepReport({
    sweepId: 'example-sweep-01',
    title: 'Example sweep report (synthetic data)',
    objectiveName: 'specificity at sensitivity ≥ 0.95 (validation)',
    trials: exampleSweepTrials(),
  });
  write(path.join(out, 'sweep'), reportFiles(sweep, { leaderboard: sweep.leaderboard }));
  console.log(`wrote ${out}/run and ${out}/sweep`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
