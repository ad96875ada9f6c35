import { useEffect, useMemo, useState } from 'react';
import { api, session } from '../api';
import { LineChart } from '../charts';
import { atThreshold, fmt, type AtThreshold, type ThresholdRow } from '../metrics';

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
  curves: {
    n: number;
    roc: Array<{ fpr: number; tpr: number }>;
    pr: Array<{ recall: number; precision: number }>;
    thresholdTable: ThresholdRow[];
  } | null;
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

const f1 = (p: number, r: number) => (p + r === 0 ? NaN : (2 * p * r) / (p + r));

/** The seed's classification report layout (scikit-learn): per class, accuracy, averages. */
export function ClassificationReport(props: { m: AtThreshold }) {
  const m = props.m;
  const nNormal = m.tn + m.fp;
  const nDisease = m.tp + m.fn;
  const n = nNormal + nDisease;
  const rows: Array<[string, number, number, number]> = [
    ['normal', m.npv, m.specificity, f1(m.npv, m.specificity)],
    ['disease', m.ppv, m.sensitivity, f1(m.ppv, m.sensitivity)],
  ];
  const macro = [0, 1, 2].map((i) => ((rows[0][i + 1] as number) + (rows[1][i + 1] as number)) / 2);
  const weighted = [0, 1, 2].map(
    (i) => ((rows[0][i + 1] as number) * nNormal + (rows[1][i + 1] as number) * nDisease) / n,
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
        {rows.map(([name, p, r, f], i) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td>{fmt(p)}</td>
            <td>{fmt(r)}</td>
            <td>{fmt(f)}</td>
            <td>{i === 0 ? nNormal : nDisease}</td>
          </tr>
        ))}
        <tr>
          <th scope="row">accuracy</th>
          <td></td>
          <td></td>
          <td>{fmt(m.accuracy)}</td>
          <td>{n}</td>
        </tr>
        <tr>
          <th scope="row">macro avg</th>
          {macro.map((x, i) => (
            <td key={i}>{fmt(x)}</td>
          ))}
          <td>{n}</td>
        </tr>
        <tr>
          <th scope="row">weighted avg</th>
          {weighted.map((x, i) => (
            <td key={i}>{fmt(x)}</td>
          ))}
          <td>{n}</td>
        </tr>
      </tbody>
    </table>
  );
}

/** One run: report at the chosen threshold, confusion matrix, ROC/PR/loss, threshold slider. */
export function RunPage(props: { id: string }) {
  const [run, setRun] = useState<RunDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [t, setT] = useState(0.5);
  useEffect(() => {
    api<RunDetail>(`/runs/${props.id}`)
      .then((r) => {
        setRun(r);
        if (r.threshold !== null) setT(Number(r.threshold.toFixed(3)));
      })
      .catch((e) => setError(String(e)));
  }, [props.id]);
  const m = useMemo(() => (run?.curves ? atThreshold(run.curves.thresholdTable, t) : null), [run, t]);
  if (error) return <p role="alert">{error}</p>;
  if (!run) return <p>Loading…</p>;
  const c = run.curves;
  return (
    <section>
      <h1>Run {run.id.slice(0, 8)}</h1>
      <p>
        Status <b>{run.status}</b> · seed {run.seed} · test AUC {fmt(run.auc)} · validation AUC{' '}
        {fmt(run.valAuc)} · operating threshold (chosen on validation) {fmt(run.threshold)}
      </p>
      <p>
        {run.reportUri && (
          <button
            type="button"
            onClick={() => download(`/runs/${run.id}/report`, `run-${run.id}-report.html`)}
          >
            Download report
          </button>
        )}{' '}
        {run.models.length > 0 && (
          <button type="button" onClick={() => download(`/runs/${run.id}/model/model.json`, 'model.json')}>
            Download model.json
          </button>
        )}
      </p>
      {run.testMetrics && <TestTable s={run.testMetrics} />}
      {!c || !m ? (
        <p>This run has no stored validation scores yet.</p>
      ) : (
        <>
          <h2>Validation set at threshold {t.toFixed(3)}</h2>
          <label htmlFor="threshold">Threshold (disease when score ≥ t)</label>{' '}
          <input
            id="threshold"
            type="range"
            min={0}
            max={1}
            step={0.001}
            value={t}
            onChange={(e) => setT(Number(e.target.value))}
          />{' '}
          <output htmlFor="threshold" data-testid="threshold-value">
            {t.toFixed(3)}
          </output>
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
            <ClassificationReport m={m} />
          </div>
          <p>
            From {c.n} validation images
            {c.thresholdTable.length >= 200 &&
              ' (threshold table thinned to 200 rows: values between rows are approximate)'}
            .
          </p>
          <div className="charts">
            <LineChart
              title="ROC (validation)"
              xLabel="1 − specificity"
              yLabel="sensitivity"
              series={[{ name: 'ROC', color: '#1f77b4', points: c.roc.map((p) => [p.fpr, p.tpr]) }]}
              xDomain={[0, 1]}
              yDomain={[0, 1]}
              diagonal
              marker={[1 - m.specificity, m.sensitivity]}
            />
            <LineChart
              title="Precision–recall (validation)"
              xLabel="recall"
              yLabel="precision"
              series={[{ name: 'PR', color: '#2ca02c', points: c.pr.map((p) => [p.recall, p.precision]) }]}
              xDomain={[0, 1]}
              yDomain={[0, 1]}
              marker={Number.isNaN(m.ppv) ? undefined : [m.sensitivity, m.ppv]}
            />
            {run.epochs.length > 0 && (
              <LineChart
                title="Loss per epoch"
                xLabel="epoch"
                yLabel="loss"
                series={[
                  { name: 'train', color: '#1f77b4', points: run.epochs.map((e) => [e.epoch, e.trainLoss]) },
                  {
                    name: 'validation',
                    color: '#ff7f0e',
                    points: run.epochs
                      .filter((e) => e.valLoss !== null)
                      .map((e) => [e.epoch, e.valLoss as number]),
                  },
                ]}
              />
            )}
          </div>
        </>
      )}
    </section>
  );
}
