import { useEffect, useMemo, useState } from 'react';
import { probabilityHistogramSpec } from '@fundus/metrics';
import { api, streamEvents } from '../api';
import { VegaChart } from '../charts';
import { fmt } from '../metrics';

interface ScoringJob {
  id: string;
  status: string;
  modelVersionId: string;
  prefix: string;
  trigger: string;
  chunks: number;
  chunksDone: number;
  totalKeys: number;
  scored: number;
  ungradable: number;
  failed: number;
  skipped: number;
  createdAt: string;
}

const ACTIVE = new Set(['queued', 'planning', 'running']);

/** One scoring job; while it works, its counts and progress bar follow its server-sent events. */
function ScoringJobRow(props: { job: ScoringJob }) {
  const [j, setJ] = useState(props.job);
  useEffect(() => setJ(props.job), [props.job]);
  const active = ACTIVE.has(j.status);
  useEffect(() => {
    if (!active) return;
    const ctl = new AbortController();
    streamEvents(
      `/scoring-jobs/${props.job.id}/events`,
      (_e, data) => setJ((prev) => ({ ...prev, ...(data as Partial<ScoringJob>) })),
      ctl.signal,
    ).catch(() => undefined);
    return () => ctl.abort();
  }, [props.job.id, active]);
  const p = j.chunks > 0 ? j.chunksDone / j.chunks : ACTIVE.has(j.status) ? 0 : 1;
  return (
    <tr data-job-id={j.id}>
      <td>
        {j.id.slice(0, 8)} ({j.trigger}, {j.prefix})
      </td>
      <td data-col="status">{j.status}</td>
      <td>{j.modelVersionId.slice(0, 8)}</td>
      <td>
        <progress
          max={1}
          value={p}
          aria-label={`Progress of scoring job ${j.id.slice(0, 8)}`}
          data-status={j.status}
        />{' '}
        {Math.round(p * 100)}%
      </td>
      <td>
        {j.scored} scored · {j.ungradable} ungradable · {j.failed} failed · {j.skipped} already scored
        {j.totalKeys > 0 && ` · of ${j.totalKeys}`}
      </td>
      <td>{new Date(j.createdAt).toLocaleString()}</td>
    </tr>
  );
}

/** Scoring jobs with live progress, then the predictions they stored. */
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
              <th scope="col">Images</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((j) => (
              <ScoringJobRow key={j.id} job={j} />
            ))}
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
  error: string | null;
}

interface Histogram {
  edges: number[];
  counts: number[];
  scored: number;
  unscored: number;
}

interface Version {
  id: string;
  version: number;
  threshold: number;
  champion: boolean;
}

/**
 * Predictions: search by key prefix, filter by model version, label and ungradable; a histogram of
 * P(disease) over every matching prediction (the API counts them, not just the page shown), with the
 * chosen version's threshold.
 */
export function PredictionsSection() {
  const [prefix, setPrefix] = useState('');
  const [label, setLabel] = useState('');
  const [ungradable, setUngradable] = useState('');
  const [version, setVersion] = useState('');
  const [versions, setVersions] = useState<Version[]>([]);
  const [rows, setRows] = useState<Prediction[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [hist, setHist] = useState<Histogram | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<{ items: Version[] }>('/models?limit=100')
      .then((r) => setVersions(r.items))
      .catch((e) => setError(String(e)));
  }, []);
  const filters = useMemo(() => {
    const q = new URLSearchParams();
    if (prefix) q.set('prefix', prefix);
    if (label) q.set('label', label);
    if (ungradable) q.set('ungradable', ungradable);
    if (version) q.set('modelVersionId', version);
    return q.toString();
  }, [prefix, label, ungradable, version]);
  useEffect(() => {
    let live = true;
    // Typing in the key box asks once the user pauses, not on every keystroke.
    const timer = setTimeout(() => {
      Promise.all([
        api<{ items: Prediction[]; nextCursor: string | null }>(`/predictions?limit=100&${filters}`),
        api<Histogram>(`/predictions/histogram?${filters}`),
      ])
        .then(([list, h]) => {
          if (!live) return;
          setRows(list.items);
          setNext(list.nextCursor);
          setHist(h);
          setError(null);
        })
        .catch((e) => live && setError(String(e)));
    }, 200);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [filters]);
  const more = () =>
    next &&
    api<{ items: Prediction[]; nextCursor: string | null }>(
      `/predictions?limit=100&${filters}&cursor=${encodeURIComponent(next)}`,
    )
      .then((list) => {
        setRows((r) => [...(r ?? []), ...list.items]);
        setNext(list.nextCursor);
      })
      .catch((e) => setError(String(e)));
  const chosen = versions.find((v) => v.id === version);
  const spec = useMemo(
    () =>
      hist
        ? probabilityHistogramSpec(
            hist.counts,
            chosen?.threshold,
            chosen ? `P(disease), version ${chosen.version} (threshold dashed)` : 'P(disease)',
          )
        : null,
    [hist, chosen],
  );
  return (
    <section>
      <h2>Predictions</h2>
      <form className="controls" onSubmit={(e) => e.preventDefault()} role="search" aria-label="Predictions">
        <label>
          Key prefix <input value={prefix} onChange={(e) => setPrefix(e.target.value)} />
        </label>
        <label>
          Model version{' '}
          <select value={version} onChange={(e) => setVersion(e.target.value)}>
            <option value="">any</option>
            {versions.map((v) => (
              <option key={v.id} value={v.id}>
                v{v.version}
                {v.champion ? ' (champion)' : ''}
              </option>
            ))}
          </select>
        </label>
        <label>
          Label{' '}
          <select value={label} onChange={(e) => setLabel(e.target.value)}>
            <option value="">any</option>
            <option value="0">normal</option>
            <option value="1">disease</option>
          </select>
        </label>
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
      {hist && (
        <p data-testid="prediction-totals">
          {hist.scored + hist.unscored} matching predictions: {hist.scored} scored, {hist.unscored} without a
          probability (ungradable or failed).
        </p>
      )}
      {spec && <VegaChart name="histogram" spec={spec} label="Histogram of P(disease)" />}
      {rows && (
        <>
          <table aria-label="Predictions">
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">P(disease)</th>
                <th scope="col">Label</th>
                <th scope="col">Ungradable</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id} data-key={r.key}>
                  <td>{r.key}</td>
                  <td>{fmt(r.probability)}</td>
                  <td>{r.label === null ? '—' : r.label === 1 ? 'disease' : 'normal'}</td>
                  <td>{r.ungradable ? `yes (${r.reason ?? ''})` : 'no'}</td>
                  <td>{r.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {next && (
            <button type="button" onClick={more}>
              Show more predictions
            </button>
          )}
        </>
      )}
    </section>
  );
}
