import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { makeBadFiles, writeSyntheticDataset } from '@fundus/imaging';
import { JobName, JobQueues, QueueName, redisConnection } from '@fundus/jobs';
import { metricsAtThreshold, probabilityBins, rocAuc } from '@fundus/metrics';
import { call, readEvents, startApi, startWorker, stopStack, type TestApi } from '../api/support';
import { ROOT, type Spawned } from '../support/processes';
import { tinyRunConfig } from '../support/training-fixtures';

jest.setTimeout(150_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Set to a folder (e.g. docs/dashboard) to write a screenshot of each page there. */
const SHOTS = process.env.DASHBOARD_SCREENSHOTS_DIR;

/**
 * The dashboard in a real headless Chromium against the real API (in this process), a real worker
 * process training tiny runs, PostgreSQL, Redis and a local object store.
 */
describe('dashboard in a browser', () => {
  const queuePrefix = `${process.env.QUEUE_PREFIX}-dash`;
  const storageRoot = mkdtempSync(join(tmpdir(), 'fundus-dash-'));
  let api: TestApi;
  let worker: Spawned;
  let context: BrowserContext;
  let page: Page;
  let runId: string;
  let datasetId: string;

  async function shot(name: string): Promise<void> {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  }

  async function signIn(secret: string): Promise<void> {
    await page.goto(`${api.base}/`);
    await page.evaluate(() => sessionStorage.clear());
    await page.reload();
    await page.getByLabel('API key').fill(secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
  }

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install -y chromium) or set CHROMIUM_PATH`,
      );
    }
    execFileSync(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'),
        'build',
        '--config',
        'apps/dashboard/vite.config.ts',
        '--logLevel',
        'warn',
      ],
      {
        cwd: ROOT,
        stdio: 'pipe',
      },
    );
    await writeSyntheticDataset({
      root: join(storageRoot, 'datasets', 'dash-e2e'),
      size: 64,
      seed: 11,
      counts: {
        train: { normal: 10, disease: 10 },
        val: { normal: 8, disease: 8 },
        test: { normal: 4, disease: 4 },
      },
      severityMix: { moderate: 1, severe: 1 },
    });
    api = await startApi({ QUEUE_PREFIX: queuePrefix }, storageRoot);
    worker = startWorker(queuePrefix, storageRoot);
    const ds = await call(api, 'POST', '/datasets', {
      key: api.keys.researcher.secret,
      json: { name: 'dash-e2e', prefix: 'datasets/dash-e2e/' },
    });
    datasetId = ds.body.id;
    const created = await call(api, 'POST', '/runs', {
      key: api.keys.researcher.secret,
      json: { datasetId, seed: 5, config: tinyRunConfig() },
    });
    runId = created.body.id;
    const stream = await readEvents(api, `/runs/${runId}/events`, api.keys.viewer.secret);
    expect(stream.events[stream.events.length - 1].data.status).toBe('succeeded');
    context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'fundus-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 860 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await context?.close();
    await stopStack(api, worker, queuePrefix);
  });

  it('is served at / with a single-page fallback, without shadowing API routes', async () => {
    const root = await fetch(`${api.base}/`);
    expect(root.status).toBe(200);
    expect(await root.text()).toMatch(/<div id="root">/);
    const deep = await fetch(`${api.base}/some/page`, { headers: { accept: 'text/html' } });
    expect(deep.status).toBe(200);
    expect(await deep.text()).toMatch(/<div id="root">/);
    const runs = await fetch(`${api.base}/runs`, { headers: { accept: 'text/html' } });
    expect(runs.status).toBe(401);
    expect(runs.headers.get('content-type')).toMatch(/json/);
    const health = await fetch(`${api.base}/health`, { headers: { accept: 'text/html' } });
    expect(health.headers.get('content-type')).toMatch(/json/);
    const docs = await fetch(`${api.base}/docs`, { headers: { accept: 'text/html' } });
    expect(await docs.text()).not.toMatch(/<div id="root">/);
    const missingAsset = await fetch(`${api.base}/assets/nope.js`);
    expect(missingAsset.status).toBe(404);
  });

  it('refuses a wrong key, and offers a viewer no promotion', async () => {
    await page.goto(`${api.base}/`);
    await page.evaluate(() => sessionStorage.clear());
    await page.reload();
    await shot('sign-in');
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expectText(page.getByRole('alert'), /not valid/);
    await signIn(api.keys.viewer.secret);
    expect(await page.getByTestId('role').textContent()).toBe('viewer');
    await page.getByRole('link', { name: 'Models' }).click();
    await page.getByRole('table', { name: 'Model versions' }).waitFor();
    expect(await page.getByRole('button', { name: /Promote/ }).count()).toBe(0);
  });

  it('signs in as an admin and sorts runs by AUC both ways', async () => {
    const second = await call(api, 'POST', '/runs', {
      key: api.keys.researcher.secret,
      json: { datasetId, seed: 6, config: tinyRunConfig({ learningRate: 1e-4 }) },
    });
    await readEvents(api, `/runs/${second.body.id}/events`, api.keys.viewer.secret);
    await signIn(api.keys.admin.secret);
    expect(await page.getByTestId('role').textContent()).toBe('admin');
    // The API sorts (over every run, with cursors); the table shows its order and the AUCs in it.
    for (const order of ['desc', 'asc'] as const) {
      await page.getByRole('button', { name: /^AUC/ }).click();
      await page
        .locator(`th[aria-sort="${order === 'desc' ? 'descending' : 'ascending'}"]`, { hasText: 'AUC' })
        .waitFor();
      const want = (
        await call(api, 'GET', `/runs?sort=auc&order=${order}&limit=50`, { key: api.keys.viewer.secret })
      ).body.items as Array<{ id: string; auc: number }>;
      expect(want.length).toBeGreaterThanOrEqual(2);
      await page.waitForFunction(
        (ids) =>
          JSON.stringify(
            Array.from(document.querySelectorAll('table[aria-label="Runs"] tbody tr'), (tr) =>
              tr.getAttribute('data-run-id'),
            ),
          ) === ids,
        JSON.stringify(want.map((r) => r.id)),
      );
      const aucs = (await page.locator('td[data-col="auc"]').allTextContents()).map(Number);
      expect(aucs).toEqual(want.map((r) => Number(r.auc.toFixed(4))));
      expect(aucs).toEqual([...aucs].sort((x, y) => (order === 'desc' ? y - x : x - y)));
    }
    await shot('runs');
  });

  it('opens a run; the threshold slider gives the numbers of libs/metrics at that threshold', async () => {
    await page.locator(`a[href="#/runs/${runId}"]`).click();
    await page.getByRole('slider', { name: /^Threshold/ }).waitFor();
    const stored = (await api.prisma.run.findUniqueOrThrow({ where: { id: runId } })).valMetrics as {
      labels: number[];
      scores: number[];
    };
    const sorted = [...new Set(stored.scores)].sort((a, b) => a - b);
    const mid = sorted[Math.floor(sorted.length / 2)];
    // Thresholds on the slider's 0.001 grid: 0, 1, near the median score and just above it.
    const grid = (x: number) => Math.min(1, Math.max(0, Math.round(x * 1000) / 1000));
    for (const t of [0, 1, grid(mid), grid(mid + 0.001), grid(sorted[1])]) {
      await page.getByRole('slider', { name: /^Threshold/ }).fill(String(t));
      await expectText(page.getByTestId('threshold-value'), new RegExp(`^${t.toFixed(3)}$`));
      const want = metricsAtThreshold(stored.labels, stored.scores, t);
      for (const k of ['sensitivity', 'specificity', 'ppv', 'npv'] as const) {
        const text = await page.locator(`td[data-metric="${k}"]`).textContent();
        if (Number.isNaN(want[k])) expect(text).toBe('—');
        else expect(Number(text)).toBeCloseTo(want[k], 4);
      }
      for (const k of ['tp', 'fp', 'tn', 'fn'] as const)
        expect(Number(await page.locator(`td[data-cell="${k}"]`).textContent())).toBe(want[k]);
    }
    // Keyboard: arrow keys move the slider by one step.
    const slider = page.getByRole('slider', { name: /^Threshold/ });
    await slider.fill('0.5');
    await slider.focus();
    await page.keyboard.press('ArrowRight');
    await expectText(page.getByTestId('threshold-value'), /^0\.501$/);
    const want = metricsAtThreshold(stored.labels, stored.scores, 0.501);
    expect(Number(await page.locator('td[data-cell="tp"]').textContent())).toBe(want.tp);
    // Charts are the Vega-Lite specs of libs/metrics drawn by Vega as SVG.
    for (const name of ['roc', 'pr', 'confusion', 'sens-spec', 'calibration', 'loss'])
      await page.locator(`figure[data-chart="${name}"]:not([data-rendered="0"]) svg`).first().waitFor();
    expect(await page.getByRole('figure', { name: /^ROC curve \(validation\)/ }).count()).toBe(1);
    // The test split's stored scores: the same slider, the same library.
    const testScores = (await api.prisma.run.findUniqueOrThrow({ where: { id: runId } })).testMetrics as {
      labels: number[];
      scores: number[];
    };
    expect(testScores.labels).toHaveLength(8);
    await page.getByRole('radio', { name: 'test', exact: true }).check();
    await slider.fill('0.42');
    await expectText(page.getByTestId('threshold-value'), /^0\.420$/);
    const wantTest = metricsAtThreshold(testScores.labels, testScores.scores, 0.42);
    await page.waitForFunction(
      (tp) => document.querySelector('td[data-cell="tp"]')?.textContent === String(tp),
      wantTest.tp,
    );
    for (const k of ['tn', 'fp', 'fn'] as const)
      expect(Number(await page.locator(`td[data-cell="${k}"]`).textContent())).toBe(wantTest[k]);
    // The details no longer carry the raw scores (they have their own endpoint).
    const detail = await call(api, 'GET', `/runs/${runId}`, { key: api.keys.viewer.secret });
    expect(detail.body.testMetrics.auc).toBeGreaterThanOrEqual(0);
    expect(detail.body.testMetrics.scores).toBeUndefined();
    // Every model file can be downloaded, weights included, byte for byte.
    const files = readdirSync(join(storageRoot, 'runs', runId, 'model'));
    expect(files).toEqual(expect.arrayContaining(['model.json', 'weights.bin']));
    for (const f of ['model.json', 'weights.bin']) {
      const [dl] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: `Download ${f}` }).click(),
      ]);
      expect(dl.suggestedFilename()).toBe(f);
      expect(statSync((await dl.path())!).size).toBe(
        statSync(join(storageRoot, 'runs', runId, 'model', f)).size,
      );
    }
    await page.getByRole('radio', { name: /^validation/ }).check();
    await page.getByRole('button', { name: 'Back to the operating threshold' }).click();
    const summary = (await api.prisma.run.findUniqueOrThrow({ where: { id: runId } })).testMetrics as {
      aucCi: { lower: number; upper: number } | null;
    };
    const aucCi = await page.locator('td[data-ci="AUC"]').textContent();
    if (summary.aucCi)
      expect(aucCi).toContain(`${summary.aucCi.lower.toFixed(3)}–${summary.aucCi.upper.toFixed(3)}`);
    else expect(aucCi).toBe('—');
    await shot('run');
  });

  it('promotes a model after confirmation, as a researcher', async () => {
    await signIn(api.keys.researcher.secret);
    await page.getByRole('link', { name: 'Models' }).click();
    const row = page.locator('tr', { has: page.locator(`a[href="#/runs/${runId}"]`) });
    await row.getByRole('button', { name: /Promote/ }).click();
    await page
      .getByRole('dialog')
      .getByRole('heading', { name: /Promote model/ })
      .waitFor();
    await shot('models-confirm');
    await page.getByRole('button', { name: 'Cancel' }).click();
    // Other suites may share the database and have promoted their own model: only ours matters.
    const before = (await call(api, 'GET', '/models/champion', { key: api.keys.viewer.secret })).body
      .champion;
    expect(before?.runId).not.toBe(runId);
    await row.getByRole('button', { name: /Promote/ }).waitFor();
    await row.getByRole('button', { name: /Promote/ }).click();
    await page.getByRole('button', { name: 'Confirm promotion' }).click();
    await row.locator('td[data-champion="yes"]').waitFor();
    const champion = (await call(api, 'GET', '/models/champion', { key: api.keys.viewer.secret })).body
      .champion;
    expect(champion.runId).toBe(runId);
    const history = (await call(api, 'GET', '/models/champion/history', { key: api.keys.viewer.secret }))
      .body;
    expect(history.items[0]).toMatchObject({ actorId: api.keys.researcher.id });
    await shot('models');
    await signIn(api.keys.admin.secret);
  });

  it("shows a sweep's leaderboard in the sweep's order and its alpha × gamma heat map", async () => {
    const created = await call(api, 'POST', '/sweeps', {
      key: api.keys.researcher.secret,
      json: {
        datasetId,
        name: 'dash-sweep',
        space: { alpha: [0.5, 2], gamma: [2] },
        maxParallel: 1,
        seed: 5,
        baseConfig: tinyRunConfig({ epochs: 1 }),
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await readEvents(api, `/sweeps/${id}/events`, api.keys.viewer.secret);
    const shown = (await call(api, 'GET', `/sweeps/${id}`, { key: api.keys.viewer.secret })).body;
    await page.getByRole('link', { name: 'Sweeps' }).click();
    await page.getByRole('link', { name: 'dash-sweep' }).click();
    const board = page.getByRole('table', { name: 'Leaderboard' });
    await board.waitFor();
    const hrefs = await board.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    expect(hrefs).toEqual(shown.leaderboard.map((r: { runId: string }) => `#/runs/${r.runId}`));
    const heat = page.getByRole('table', { name: /alpha × gamma/ });
    const cells = (await heat.locator('tbody td').allTextContents()).map(Number);
    // gamma row 2, alpha columns 0.5 then 2.
    const byAlpha = (a: number) =>
      shown.trials.find((t: { config: { loss: { alpha: number } } }) => t.config.loss.alpha === a).objective;
    expect(cells).toEqual([Number(byAlpha(0.5).toFixed(3)), Number(byAlpha(2).toFixed(3))]);
    await page.locator('figure[data-chart="sweep-heatmap"]:not([data-rendered="0"]) svg').waitFor();
    await page.getByLabel('Overlay the ROC of trial 0').check();
    await page.getByLabel('Overlay the ROC of trial 1').check();
    const overlay = page.locator('figure[data-chart="roc-overlay"]:not([data-rendered="0"]) svg');
    await overlay.waitFor();
    // The legend names each trial with the AUC libs/metrics gives for its stored validation scores.
    const legend = await overlay.textContent();
    for (const index of [0, 1]) {
      const trial = shown.trials.find((t: { trialIndex: number }) => t.trialIndex === index);
      const v = (await api.prisma.run.findUniqueOrThrow({ where: { id: trial.id } })).valMetrics as {
        labels: number[];
        scores: number[];
      };
      expect(legend).toContain(`trial ${index} (AUC ${rocAuc(v.labels, v.scores).toFixed(3)})`);
    }
    await shot('sweep');
    await page.getByRole('link', { name: 'Queues' }).click();
    const counts = page.getByRole('table', { name: 'Queue counts' });
    await counts.waitFor();
    const queueBoard = (await call(api, 'GET', '/admin/queues/api/queues', { key: api.keys.admin.secret }))
      .body;
    const training = queueBoard.queues.find((q: { name: string }) => q.name === 'training');
    const row = counts.locator('tr[data-queue="training"]');
    expect(Number(await row.locator('td[data-count="completed"]').textContent())).toBe(
      training.counts.completed,
    );
    expect(training.counts.completed).toBeGreaterThanOrEqual(2);
    await shot('queues');
  });

  it('scores a folder: live job progress, predictions searchable and filterable, histogram of all', async () => {
    const detail = await call(api, 'GET', `/runs/${runId}`, { key: api.keys.viewer.secret });
    const modelVersionId = detail.body.models[0].id as string;
    const intake = join(storageRoot, 'intake-dash');
    mkdirSync(intake, { recursive: true });
    for (const cls of ['normal', 'disease']) {
      const dir = join(storageRoot, 'datasets', 'dash-e2e', 'test', cls);
      for (const f of readdirSync(dir)) copyFileSync(join(dir, f), join(intake, `${cls}-${f}`));
    }
    for (const b of (await makeBadFiles()).filter((x) => ['all-black', 'random-bytes'].includes(x.name)))
      writeFileSync(join(intake, `bad-${b.fileName}`), b.bytes);
    await page.getByRole('link', { name: 'Scoring' }).click();
    await page.getByRole('heading', { name: 'Scoring jobs' }).waitFor();
    const job = await call(api, 'POST', '/scoring-jobs', {
      key: api.keys.researcher.secret,
      json: { modelVersionId, prefix: 'intake-dash/' },
    });
    expect(job.status).toBe(201);
    const jobId = job.body.id as string;
    await page.reload();
    const bar = page.locator(`progress[aria-label="Progress of scoring job ${jobId.slice(0, 8)}"]`);
    await bar.waitFor();
    // The row follows the job's events to its end without a reload.
    await page
      .locator(`progress[aria-label="Progress of scoring job ${jobId.slice(0, 8)}"][data-status="succeeded"]`)
      .waitFor({ timeout: 90_000 });
    expect(await bar.evaluate((el) => (el as HTMLProgressElement).value)).toBe(1);
    const rows = await api.prisma.prediction.findMany({ where: { scoringJobId: jobId } });
    expect(rows).toHaveLength(10);
    expect(await page.locator(`tr[data-job-id="${jobId}"]`).textContent()).toContain(
      `${rows.filter((r) => r.probability !== null).length} scored`,
    );
    const search = page.getByRole('search', { name: 'Predictions' });
    await search.getByLabel('Model version').selectOption(modelVersionId);
    // Each filter change reloads the list; wait for exactly the rows the database says match.
    const shows = (keys: string[]) =>
      page.waitForFunction(
        (want) =>
          JSON.stringify(
            Array.from(document.querySelectorAll('table[aria-label="Predictions"] tbody tr'), (tr) =>
              tr.getAttribute('data-key'),
            ),
          ) === want,
        JSON.stringify([...keys].sort()),
      );
    await search.getByLabel('Key prefix').fill('intake-dash/disease-');
    await shows(rows.map((r) => r.key).filter((k) => k.startsWith('intake-dash/disease-')));
    expect(await page.locator('table[aria-label="Predictions"] tbody tr').count()).toBe(4);
    await search.getByLabel('Key prefix').fill('intake-dash/');
    await search.getByLabel('Ungradable').selectOption('true');
    const ungradable = rows.filter((r) => r.ungradable).map((r) => r.key);
    expect(ungradable.length).toBeGreaterThanOrEqual(1);
    await shows(ungradable);
    expect(await page.locator('table[aria-label="Predictions"] tbody').textContent()).toContain('yes (');
    await search.getByLabel('Ungradable').selectOption('');
    await search.getByLabel('Label').selectOption('1');
    await shows(rows.filter((r) => r.label === 1).map((r) => r.key));
    await search.getByLabel('Label').selectOption('');
    // The histogram counts every matching prediction, binned like libs/metrics.
    const probs = rows.map((r) => r.probability).filter((p): p is number => p !== null);
    await expectText(
      page.getByTestId('prediction-totals'),
      new RegExp(`^10 matching predictions: ${probs.length} scored, ${10 - probs.length} without`),
    );
    const hist = await call(
      api,
      'GET',
      `/predictions/histogram?prefix=intake-dash/&modelVersionId=${modelVersionId}`,
      { key: api.keys.viewer.secret },
    );
    expect(hist.body.counts).toEqual(probabilityBins(probs, 10));
    await page.locator('figure[data-chart="histogram"]:not([data-rendered="0"]) svg').waitFor();
    await shot('scoring');
  });

  it('lists a failed job with its error and lets an admin retry it', async () => {
    const queues = new JobQueues(redisConnection(process.env.REDIS_URL!), queuePrefix);
    const missing = '00000000-0000-4000-8000-00000000dead';
    const failedJob = await queues.enqueue(JobName.TrainModel, { runId: missing });
    const training = queues.queue(QueueName.Training);
    for (let i = 0; i < 300 && (await training.getJobState(failedJob.id!)) !== 'failed'; i++)
      await new Promise((r) => setTimeout(r, 200));
    expect(await training.getJobState(failedJob.id!)).toBe('failed');
    await page.getByRole('link', { name: 'Queues' }).click();
    await page.getByRole('button', { name: 'Show failed jobs of training' }).click();
    const table = page.getByRole('table', { name: 'Failed jobs' });
    await table.waitFor();
    const row = table.locator('tr', { hasText: `#${failedJob.id}` });
    await expectText(row, new RegExp(`run ${missing} does not exist`));
    await shot('queues-failed');
    const before = (await training.getJob(failedJob.id!))!.attemptsMade;
    await row.getByRole('button', { name: `Retry job ${failedJob.id}` }).click();
    // Retried: the worker runs it again (and it fails again, the run still does not exist).
    for (let i = 0; i < 300; i++) {
      const j = await training.getJob(failedJob.id!);
      if (j && j.attemptsMade > before && (await j.getState()) === 'failed') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await training.getJob(failedJob.id!))!.attemptsMade).toBeGreaterThan(before);
    await (await training.getJob(failedJob.id!))!.remove();
    await queues.close();
    // A viewer is offered no queues at all: no link, and the page itself says so.
    await signIn(api.keys.viewer.secret);
    expect(await page.getByRole('link', { name: 'Queues' }).count()).toBe(0);
    await page.goto(`${api.base}/#/queues`);
    await expectText(page.locator('main'), /Only admins can see the queues/);
    await signIn(api.keys.admin.secret);
  });

  it('fits a tablet screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 820, height: 1180 });
    for (const hash of ['#/runs', `#/runs/${runId}`, '#/models', '#/scoring']) {
      await page.goto(`${api.base}/${hash}`);
      await page.locator('main h1').waitFor();
      await page.waitForLoadState('networkidle');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect({ hash, overflow }).toEqual({ hash, overflow: 0 });
    }
    await page.goto(`${api.base}/#/runs/${runId}`);
    await page.locator('figure[data-chart="roc"]:not([data-rendered="0"]) svg').waitFor();
    await shot('run-tablet');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('shows a progress bar advancing while a run trains', async () => {
    const created = await call(api, 'POST', '/runs', {
      key: api.keys.researcher.secret,
      json: { datasetId, seed: 8, config: tinyRunConfig({ epochs: 6 }) },
    });
    const id = created.body.id as string;
    await page.getByRole('link', { name: 'Runs' }).click();
    await page.goto(`${api.base}/#/runs`);
    const bar = page.getByLabel(`Progress of run ${id.slice(0, 8)}`);
    await bar.waitFor();
    const value = () => bar.evaluate((el) => (el as HTMLProgressElement).value);
    const first = await value();
    expect(first).toBeLessThan(1);
    await page.waitForFunction(
      ([label, v]) => {
        const el = document.querySelector(`progress[aria-label="${label}"]`) as HTMLProgressElement | null;
        return !!el && el.value > (v as number) && el.value < 1;
      },
      [`Progress of run ${id.slice(0, 8)}`, first] as const,
      { timeout: 60_000 },
    );
    await shot('runs-progress');
    const stream = await readEvents(api, `/runs/${id}/events`, api.keys.viewer.secret);
    expect(stream.events[stream.events.length - 1].data.status).toBe('succeeded');
    await page
      .locator(`progress[aria-label="Progress of run ${id.slice(0, 8)}"][data-status="succeeded"]`)
      .waitFor();
    expect(await value()).toBe(1);
  });
});

async function expectText(locator: ReturnType<Page['locator']>, pattern: RegExp): Promise<void> {
  await locator.first().waitFor();
  await locator
    .page()
    .waitForFunction(([el, src]) => new RegExp(src as string).test((el as Element).textContent ?? ''), [
      await locator.first().elementHandle(),
      pattern.source,
    ] as const);
}
