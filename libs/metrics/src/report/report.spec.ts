/** Report building end to end on the committed example fixtures: numbers, text, SVG and PNG output. */
import sharp from 'sharp';
import { exampleRunInput, exampleSweepTrials } from '../../scripts/generate-example-report';
import {
  buildRunReport,
  buildSweepReport,
  delongAucCi,
  metricsAtThreshold,
  rankTrials,
  renderSvg,
  reportFiles,
  rocAuc,
  scopeSvgIds,
  svgToPng,
  MetricsError,
  type RunReport,
} from '../index';

let report: RunReport;
const input = { ...exampleRunInput(), bootstrap: { iterations: 200, seed: 3 } };

beforeAll(async () => {
  report = await buildRunReport(input);
});

test('summary numbers equal the library functions at the validation-chosen threshold', () => {
  const { labels, scores } = input.test;
  const s = report.summary;
  expect(input.threshold.policy).toEqual({ kind: 'sensitivity-at-least', target: 0.95 });
  expect(input.threshold.metrics.sensitivity).toBeGreaterThanOrEqual(0.95);
  expect(s.threshold).toBe(input.threshold.threshold);
  expect(s.test).toEqual(metricsAtThreshold(labels, scores, s.threshold));
  expect(s.auc).toBe(rocAuc(labels, scores));
  expect(s.aucCi).toEqual(delongAucCi(labels, scores));
  expect(s.ci.sensitivity!.iterations).toBe(200);
  expect(s.ci.sensitivity!.lower).toBeLessThanOrEqual(s.test.sensitivity);
  expect(s.classificationReport.classes[1].support).toBe(100);
});

test('plots: six charts, each an SVG with its title text and a PNG of twice the SVG size', async () => {
  expect(report.plots.map((p) => p.name)).toEqual([
    'loss',
    'roc',
    'pr',
    'confusion-matrix',
    'sens-spec',
    'calibration',
  ]);
  for (const p of report.plots) {
    expect(p.svg.startsWith('<svg')).toBe(true);
    expect(p.svg).toMatch(/<text[^>]*>/);
    const meta = await sharp(p.png).metadata();
    const w = Number(/width="(\d+)"/.exec(p.svg)![1]);
    expect(meta.format).toBe('png');
    expect(meta.width).toBe(2 * w);
  }
  expect(report.plots.find((p) => p.name === 'roc')!.svg).toContain(
    `ROC curve (AUC ${report.summary.auc.toFixed(4)})`,
  );
  expect(report.plots.find((p) => p.name === 'confusion-matrix')!.svg).toContain(
    `TP ${report.summary.test.tp}`,
  );
});

test('the PNG has text pixels where the SVG has its title (fonts render)', async () => {
  const roc = report.plots.find((p) => p.name === 'roc')!;
  // Title band at the top of the image: some pixels must be dark (text), not just white background.
  const { data, info } = await sharp(roc.png)
    .extract({ left: 0, top: 0, width: 400, height: 40 })
    .greyscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  let dark = 0;
  for (let i = 0; i < info.width * info.height; i++) if (data[i] < 100) dark++;
  expect(dark).toBeGreaterThan(200);
});

test('Markdown has the seed-style table, CIs, policy and plot links; HTML is self-contained', () => {
  const md = report.markdown;
  expect(md).toContain('| accuracy | \\ | \\ |');
  expect(md).toContain('sensitivity ≥ 0.95, then best specificity');
  expect(md).toContain('(DeLong)');
  expect(md).toContain('![ROC curve (test) with the operating point](plots/roc.png)');
  expect(md).toContain('"alpha": 2');
  const html = report.html;
  expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
  expect((html.match(/<svg/g) ?? []).length).toBe(report.plots.length);
  expect(html).not.toMatch(/<script|<link|src="http|href="http/);
  expect(html).toContain('<td class="center">0.99</td>');
});

test('inlined SVG ids are scoped per chart so charts cannot capture each other’s gradients', () => {
  const svg =
    '<svg><linearGradient id="gradient_0"/><rect fill="url(#gradient_0)"/><use href="#gradient_0"/></svg>';
  expect(scopeSvgIds(svg, 'heat map')).toBe(
    '<svg><linearGradient id="heat_map-gradient_0"/><rect fill="url(#heat_map-gradient_0)"/><use href="#heat_map-gradient_0"/></svg>',
  );
});

test('report files list md, html, summary and png/svg/spec per plot', () => {
  const files = reportFiles(report, report.summary).map((f) => f.path);
  expect(files).toEqual(
    expect.arrayContaining([
      'report.md',
      'report.html',
      'summary.json',
      'plots/roc.png',
      'plots/roc.svg',
      'plots/roc.vl.json',
    ]),
  );
  expect(files.length).toBe(3 + 3 * report.plots.length);
});

test('same input gives the same report (seeded bootstrap, no clock)', async () => {
  const again = await buildRunReport(input);
  expect(again.markdown).toBe(report.markdown);
  expect(again.html).toBe(report.html);
});

test('sweep: leaderboard ranked by objective then AUC, failed trials last, heat map rendered', async () => {
  const trials = exampleSweepTrials();
  const sweep = await buildSweepReport({
    sweepId: 's1',
    objectiveName: 'specificity at sensitivity ≥ 0.95',
    trials,
  });
  const done = sweep.leaderboard.filter((t) => t.status === 'completed');
  for (let i = 1; i < done.length; i++)
    expect(done[i - 1].objective!).toBeGreaterThanOrEqual(done[i].objective!);
  expect(sweep.leaderboard[sweep.leaderboard.length - 1].status).toBe('failed');
  expect(sweep.best).toBe(sweep.leaderboard[0]);
  expect(sweep.plots[0].svg).toContain('failed');
  expect(sweep.markdown).toContain('| 1 | `' + sweep.best!.runId + '`');
  // AUC breaks ties.
  const tied = rankTrials([
    { runId: 'a', alpha: 1, gamma: 1, status: 'completed', objective: 0.5, auc: 0.8 },
    { runId: 'b', alpha: 1, gamma: 2, status: 'completed', objective: 0.5, auc: 0.9 },
    { runId: 'c', alpha: 1, gamma: 3, status: 'failed' },
  ]);
  expect(tied.map((t) => t.runId)).toEqual(['b', 'a', 'c']);
});

test('rendering errors are MetricsError RENDER_FAILED', async () => {
  await expect(renderSvg({ data: { values: [] }, mark: 'no-such-mark' } as never)).rejects.toBeInstanceOf(
    MetricsError,
  );
  await expect(svgToPng('not svg')).rejects.toMatchObject({ code: 'RENDER_FAILED' });
});
