import { useEffect, useState } from 'react';
import { api } from '../api';
import { fmt } from '../metrics';

interface ScoringJob {
  id: string;
  status: string;
  modelVersionId: string;
  progress?: number;
  chunksDone?: number;
  chunks?: number;
  createdAt: string;
}

/** Scoring jobs with their progress. */
export function ScoringPage() {
  const [rows, setRows] = useState<ScoringJob[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<{ items: ScoringJob[] }>('/scoring-jobs?limit=100')
      .then((r) => setRows(r.items))
      .catch((e) => setError(String(e)));
  }, []);
  return (
    <section>
      <h1>Scoring jobs</h1>
      {error && <p role="alert">{error}</p>}
      {rows && rows.length === 0 && <p>No scoring jobs yet.</p>}
      {rows && rows.length > 0 && (
        <table aria-label="Scoring jobs">
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Status</th>
              <th scope="col">Model version</th>
              <th scope="col">Progress</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((j) => {
              const p = j.progress ?? (j.chunks ? (j.chunksDone ?? 0) / j.chunks : 0);
              return (
                <tr key={j.id}>
                  <td>{j.id.slice(0, 8)}</td>
                  <td>{j.status}</td>
                  <td>{j.modelVersionId.slice(0, 8)}</td>
                  <td>
                    <progress max={1} value={p} aria-label={`Progress of scoring job ${j.id.slice(0, 8)}`} />{' '}
                    {Math.round(p * 100)}%
                  </td>
                  <td>{new Date(j.createdAt).toLocaleString()}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <PredictionsSection />
    </section>
  );
}

interface Prediction {
  id: string;
  key: string;
  probability: number | null;
  label: number | null;
  ungradable: boolean;
  reason: string | null;
}

/** Counts of probabilities in `bins` equal-width bins over [0, 1] (1 falls in the last bin). */
export function histogram(ps: number[], bins = 10): number[] {
  const out = new Array<number>(bins).fill(0);
  for (const p of ps) out[Math.min(bins - 1, Math.floor(p * bins))]++;
  return out;
}

/** Predictions: search by key prefix, filter by label and ungradable; histogram of P(disease). */
export function PredictionsSection() {
  const [prefix, setPrefix] = useState('');
  const [label, setLabel] = useState('');
  const [ungradable, setUngradable] = useState('');
  const [rows, setRows] = useState<Prediction[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const q = new URLSearchParams({ limit: '100' });
    if (prefix) q.set('prefix', prefix);
    if (label) q.set('label', label);
    if (ungradable) q.set('ungradable', ungradable);
    api<{ items: Prediction[] }>(`/predictions?${q}`)
      .then((r) => {
        setRows(r.items);
        setError(null);
      })
      .catch((e) => setError(String(e)));
  }, [prefix, label, ungradable]);
  const probs = (rows ?? []).map((r) => r.probability).filter((p): p is number => p !== null);
  const hist = histogram(probs);
  const top = Math.max(1, ...hist);
  return (
    <section>
      <h2>Predictions</h2>
      <form onSubmit={(e) => e.preventDefault()}>
        <label>
          Key prefix <input value={prefix} onChange={(e) => setPrefix(e.target.value)} />
        </label>{' '}
        <label>
          Label{' '}
          <select value={label} onChange={(e) => setLabel(e.target.value)}>
            <option value="">any</option>
            <option value="0">normal</option>
            <option value="1">disease</option>
          </select>
        </label>{' '}
        <label>
          Ungradable{' '}
          <select value={ungradable} onChange={(e) => setUngradable(e.target.value)}>
            <option value="">any</option>
            <option value="true">yes</option>
            <option value="false">no</option>
          </select>
        </label>
      </form>
      {error && <p role="alert">{error}</p>}
      {rows && (
        <>
          <svg viewBox="0 0 320 120" width={320} role="img" aria-label="Histogram of P(disease)">
            <title>Histogram of P(disease)</title>
            {hist.map((c, i) => (
              <rect
                key={i}
                x={i * 32 + 1}
                width={30}
                y={110 - (c / top) * 100}
                height={(c / top) * 100}
                fill="#1f77b4"
              >
                <title>{`${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}: ${c}`}</title>
              </rect>
            ))}
            <line x1={0} x2={320} y1={110} y2={110} stroke="#555" />
          </svg>
          <table aria-label="Predictions">
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">P(disease)</th>
                <th scope="col">Label</th>
                <th scope="col">Ungradable</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id}>
                  <td>{r.key}</td>
                  <td>{fmt(r.probability)}</td>
                  <td>{r.label === null ? '—' : r.label === 1 ? 'disease' : 'normal'}</td>
                  <td>{r.ungradable ? `yes (${r.reason ?? ''})` : 'no'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
