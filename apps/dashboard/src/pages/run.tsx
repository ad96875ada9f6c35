import { useDeferredValue, useEffect, useMemo, useState } from 'react';
import {
  aucFromCounts,
  apFromCounts,
  brierScore,
  calibrationSpec,
  classificationReport,
  confusionMatrixSpec,
  cumulativeCounts,
  lossCurveSpec,
  metricsAtThreshold,
  prFromCounts,
  prSpec,
  reliabilityCurve,
  rocFromCounts,
  rocSpec,
  sensSpecSpec,
  thresholdTableFromCounts,
  type BinaryMetrics,
  type CumulativeCounts,
} from '@fundus/metrics';
import { api, session } from '../api';
import { VegaChart } from '../charts';
import { fmt } from '../metrics';

interface RunDetail {
  id: string;
  status: string;
  seed: number;
  threshold: number | null;
  auc: number | null;
  valAuc: number | null;
  reportUri: string | null;
  epochs: Array<{ epoch: number; trainLoss: number; valLoss: number | null; valAuc: number | null }>;
  models: Array<{ id: string; version: number }>;
  testMetrics: TestSummary | null;
}

/** Labels and scores of one split as the run stored them (GET /runs/:id/scores). */
interface SplitScores {
  labels: number[];
  scores: number[];
}

interface RunScores {
  threshold: number | null;
  validation: SplitScores | null;
  test: SplitScores | null;
}

type Split = 'validation' | 'test';

interface ModelFile {
  name: string;
  size: number;
  href: string;
}

interface Interval {
  estimate: number;
  lower: number;
  upper: number;
  level: number;
  method: string;
}

/** The run's test-split summary at the operating threshold (libs/metrics RunReportSummary). */
interface TestSummary {
  threshold: number;
  auc: number;
  aucCi: Interval | null;
  averagePrecision: number;
  brier: number | null;
  ece: number | null;
  test: Record<string, number>;
  ci: Partial<Record<string, Interval>>;
}

/** Test metrics at the operating threshold with their confidence intervals, Brier and ECE. */
function TestTable(props: { s: TestSummary }) {
  const s = props.s;
  const ci = (i: Interval | null | undefined) =>
    i ? `${fmt(i.lower, 3)}–${fmt(i.upper, 3)} (${Math.round(i.level * 100)}% ${i.method})` : '—';
  const rows: Array<[string, number | null, string]> = [
    ['AUC', s.auc, ci(s.aucCi)],
    ['average precision', s.averagePrecision, ''],
    ...(['sensitivity', 'specificity', 'ppv', 'npv', 'accuracy'] as const).map(
      (k): [string, number | null, string] => [
        k === 'ppv' ? 'PPV' : k === 'npv' ? 'NPV' : k,
        s.test[k],
        ci(s.ci[k]),
      ],
    ),
    ['Brier score (calibration)', s.brier, ''],
    ['ECE (calibration)', s.ece, ''],
  ];
  return (
    <table aria-label="Test metrics with confidence intervals">
      <thead>
        <tr>
          <th scope="col">Test split at threshold {fmt(s.threshold)}</th>
          <th scope="col">value</th>
          <th scope="col">confidence interval</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([name, v, c]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td>{fmt(v)}</td>
            <td data-ci={name}>{c}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Downloads a protected file with the bearer key and hands it to the browser. */
async function download(path: string, name: string): Promise<void> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${session.key}` } });
  if (!res.ok) throw new Error(`download failed: HTTP ${res.status}`);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

/** The seed's classification report layout (scikit-learn) from libs/metrics at threshold t. */
export function ClassificationReportTable(props: { m: BinaryMetrics }) {
  const r = classificationReport(props.m);
  const row = (name: string, x: { precision: number; recall: number; f1: number; support: number }) => (
    <tr key={name}>
      <th scope="row">{name}</th>
      <td>{fmt(x.precision)}</td>
      <td>{fmt(x.recall)}</td>
      <td>{fmt(x.f1)}</td>
      <td>{x.support}</td>
    </tr>
  );
  return (
    <table aria-label="Classification report">
      <thead>
        <tr>
          <th scope="col"></th>
          <th scope="col">precision</th>
          <th scope="col">recall</th>
          <th scope="col">f1-score</th>
          <th scope="col">support</th>
        </tr>
      </thead>
      <tbody>
        {r.classes.map((c) => row(c.name, c))}
        <tr>
          <th scope="row">accuracy</th>
          <td></td>
          <td></td>
          <td>{fmt(r.accuracy)}</td>
          <td>{r.support}</td>
        </tr>
        {row('macro avg', r.macroAvg)}
        {row('weighted avg', r.weightedAvg)}
      </tbody>
    </table>
  );
}

function countsOf(s: SplitScores | null): CumulativeCounts | null {
  if (!s) return null;
  try {
    const c = cumulativeCounts(s.labels, s.scores);
    return c.positives > 0 && c.negatives > 0 ? c : null;
  } catch {
    return null;
  }
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/**
 * One run: the seed's report table, confusion matrix and rates at a threshold the slider chooses,
 * recomputed with libs/metrics from the run's stored scores (validation, where the operating point
 * was chosen, or test); ROC with the operating point, PR, sensitivity/specificity against threshold,
 * calibration and loss curves drawn from the report's Vega-Lite specs; test metrics with CIs;
 * downloads of the report and every model file.
 */
export function RunPage(props: { id: string }) {
  const [run, setRun] = useState<RunDetail | null>(null);
  const [scores, setScores] = useState<RunScores | null>(null);
  const [files, setFiles] = useState<ModelFile[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [t, setT] = useState(0.5);
  const [split, setSplit] = useState<Split>('validation');
  useEffect(() => {
    Promise.all([api<RunDetail>(`/runs/${props.id}`), api<RunScores>(`/runs/${props.id}/scores`)])
      .then(([r, s]) => {
        setRun(r);
        setScores(s);
        if (r.threshold !== null) setT(Number(clamp01(r.threshold).toFixed(3)));
        if (r.models.length > 0)
          api<{ files: ModelFile[] }>(`/runs/${props.id}/model`)
            .then((f) => setFiles(f.files))
            .catch((e) => setError(String(e)));
      })
      .catch((e) => setError(String(e)));
  }, [props.id]);
  const data = scores ? scores[split] : null;
  const counts = useMemo(() => countsOf(data), [data]);
  const m = useMemo(
    () => (data && counts ? metricsAtThreshold(data.labels, data.scores, t) : null),
    [data, counts, t],
  );
  // Charts follow the slider a beat behind, so dragging stays smooth.
  const tChart = useDeferredValue(t);
  const curves = useMemo(() => {
    if (!data || !counts) return null;
    return {
      roc: rocFromCounts(counts),
      auc: aucFromCounts(counts),
      pr: prFromCounts(counts),
      ap: apFromCounts(counts),
      table: thresholdTableFromCounts(counts),
      reliability: reliabilityCurve(data.labels, data.scores),
      brier: brierScore(data.labels, data.scores),
    };
  }, [data, counts]);
  const specs = useMemo(() => {
    if (!data || !curves) return null;
    const at = metricsAtThreshold(data.labels, data.scores, tChart);
    const point = {
      threshold: tChart,
      sensitivity: at.sensitivity,
      specificity: at.specificity,
      ppv: at.ppv,
    };
    return {
      roc: rocSpec(curves.roc, curves.auc, point, `ROC, ${split} (AUC ${curves.auc.toFixed(4)})`),
      pr: prSpec(curves.pr, curves.ap, at.prevalence, point),
      confusion: confusionMatrixSpec(at, ['normal', 'disease'], `Confusion matrix at ${tChart.toFixed(3)}`),
      sensSpec: sensSpecSpec(curves.table, tChart),
      calibration: calibrationSpec(curves.reliability, curves.brier),
    };
  }, [data, curves, tChart, split]);
  const lossSpec = useMemo(
    () =>
      run && run.epochs.length > 0
        ? lossCurveSpec(
            run.epochs.map((e) => ({
              epoch: e.epoch,
              trainLoss: e.trainLoss,
              valLoss: e.valLoss ?? undefined,
              valAuc: e.valAuc ?? undefined,
            })),
          )
        : null,
    [run],
  );
  if (error) return <p role="alert">{error}</p>;
  if (!run || !scores) return <p>Loading…</p>;
  const operating = run.threshold === null ? null : clamp01(run.threshold);
  return (
    <section>
      <h1>Run {run.id.slice(0, 8)}</h1>
      <p>
        Status <b>{run.status}</b> · seed {run.seed} · test AUC {fmt(run.auc)} · validation AUC{' '}
        {fmt(run.valAuc)} · operating threshold (chosen on validation) {fmt(run.threshold)}
      </p>
      <div className="downloads" role="group" aria-label="Downloads">
        {run.reportUri && (
          <button
            type="button"
            onClick={() =>
              download(`/runs/${run.id}/report`, `run-${run.id}-report.html`).catch((e) =>
                setError(String(e)),
              )
            }
          >
            Download report
          </button>
        )}
        {files.map((f) => (
          <button
            key={f.name}
            type="button"
            title={`${f.size.toLocaleString()} bytes`}
            onClick={() => download(f.href, f.name).catch((e) => setError(String(e)))}
          >
            Download {f.name}
          </button>
        ))}
      </div>
      {run.testMetrics && <TestTable s={run.testMetrics} />}
      {!scores.validation && !scores.test ? (
        <p>This run has no stored scores yet.</p>
      ) : (
        <>
          <h2>
            {split === 'validation' ? 'Validation' : 'Test'} set at threshold {t.toFixed(3)}
          </h2>
          <fieldset className="controls">
            <legend>Operating point</legend>
            <span role="radiogroup" aria-label="Scores from">
              {(['validation', 'test'] as const).map((s) => (
                <label key={s}>
                  <input
                    type="radio"
                    name="split"
                    value={s}
                    checked={split === s}
                    disabled={!scores[s]}
                    onChange={() => setSplit(s)}
                  />{' '}
                  {s === 'validation' ? 'validation (threshold chosen here)' : 'test'}
                </label>
              ))}
            </span>
            <label htmlFor="threshold">Threshold (disease when score ≥ t)</label>
            <input
              id="threshold"
              type="range"
              min={0}
              max={1}
              step={0.001}
              value={t}
              onChange={(e) => setT(Number(e.target.value))}
            />
            <output htmlFor="threshold" data-testid="threshold-value">
              {t.toFixed(3)}
            </output>
            {operating !== null && (
              <button type="button" onClick={() => setT(Number(operating.toFixed(3)))}>
                Back to the operating threshold
              </button>
            )}
          </fieldset>
          {!scores.test && <p>Test scores were not stored for this run (trained before they were kept).</p>}
          {!m ? (
            <p>The {split} scores hold one class only: no rates to show.</p>
          ) : (
            <div className="grid">
              <table aria-label="Metrics at threshold">
                <tbody>
                  {(['sensitivity', 'specificity', 'ppv', 'npv', 'f1', 'accuracy'] as const).map((k) => (
                    <tr key={k}>
                      <th scope="row">{k === 'ppv' ? 'PPV' : k === 'npv' ? 'NPV' : k}</th>
                      <td data-metric={k}>{fmt(m[k])}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <table aria-label="Confusion matrix">
                <thead>
                  <tr>
                    <th scope="col">true \ predicted</th>
                    <th scope="col">normal</th>
                    <th scope="col">disease</th>
                  </tr>
                </thead>
                <tbody>
                  <tr>
                    <th scope="row">normal</th>
                    <td data-cell="tn">{m.tn}</td>
                    <td data-cell="fp">{m.fp}</td>
                  </tr>
                  <tr>
                    <th scope="row">disease</th>
                    <td data-cell="fn">{m.fn}</td>
                    <td data-cell="tp">{m.tp}</td>
                  </tr>
                </tbody>
              </table>
              <ClassificationReportTable m={m} />
            </div>
          )}
          {data && (
            <p>
              From {data.labels.length} {split} images.
            </p>
          )}
        </>
      )}
      <div className="charts">
        {specs && (
          <>
            <VegaChart name="roc" spec={specs.roc} label={`ROC curve (${split}) with the operating point`} />
            <VegaChart name="pr" spec={specs.pr} label={`Precision–recall curve (${split})`} />
            <VegaChart name="confusion" spec={specs.confusion} label={`Confusion matrix (${split})`} />
            <VegaChart
              name="sens-spec"
              spec={specs.sensSpec}
              label={`Sensitivity and specificity against threshold (${split})`}
            />
            <VegaChart name="calibration" spec={specs.calibration} label={`Calibration (${split})`} />
          </>
        )}
        {lossSpec && <VegaChart name="loss" spec={lossSpec} label="Loss per epoch" />}
      </div>
    </section>
  );
}
