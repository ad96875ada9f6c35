import { useCallback, useEffect, useMemo, useState } from 'react';
import { api, streamEvents } from '../api';
import { fmt } from '../metrics';

/** A run as listed by GET /runs. */
export interface RunRow {
  id: string;
  sweepId: string | null;
  trialIndex: number | null;
  seed: number;
  status: string;
  progress: number;
  currentEpoch: number | null;
  threshold: number | null;
  auc: number | null;
  sensitivity: number | null;
  specificity: number | null;
  createdAt: string;
  error: string | null;
}

type SortKey = 'createdAt' | 'status' | 'auc' | 'sensitivity' | 'specificity' | 'progress';
const COLUMNS: Array<[SortKey, string]> = [
  ['createdAt', 'Created'],
  ['status', 'Status'],
  ['progress', 'Progress'],
  ['auc', 'AUC'],
  ['sensitivity', 'Sensitivity'],
  ['specificity', 'Specificity'],
];
const ACTIVE = new Set(['queued', 'running']);

/**
 * Follows one queued or running run over its server-sent events and reports each update; the stream
 * ends when the run reaches a final state (the page then reloads the row for its metrics).
 */
function useRunEvents(run: RunRow, onUpdate: (id: string, u: { progress: number; status: string }) => void) {
  useEffect(() => {
    if (!ACTIVE.has(run.status)) return;
    const ctl = new AbortController();
    streamEvents(
      `/runs/${run.id}/events`,
      (_e, data) => {
        const d = data as { progress: number; status: string };
        onUpdate(run.id, { progress: d.progress, status: d.status });
      },
      ctl.signal,
    ).catch(() => undefined);
    return () => ctl.abort();
  }, [run.id, run.status, onUpdate]);
}

/** One row of the runs table; its status and progress bar follow the run live. */
function RunRowView(props: {
  run: RunRow;
  onUpdate: (id: string, u: { progress: number; status: string }) => void;
}) {
  const r = props.run;
  useRunEvents(r, props.onUpdate);
  return (
    <tr data-run-id={r.id}>
      <td>
        <a href={`#/runs/${r.id}`}>{r.id.slice(0, 8)}</a>
        {r.sweepId && ` (trial ${r.trialIndex})`}
      </td>
      <td>{new Date(r.createdAt).toLocaleString()}</td>
      <td data-col="status">{r.status}</td>
      <td>
        <progress
          max={1}
          value={r.progress}
          aria-label={`Progress of run ${r.id.slice(0, 8)}`}
          data-status={r.status}
        />{' '}
        {Math.round(r.progress * 100)}%
      </td>
      <td data-col="auc">{fmt(r.auc)}</td>
      <td>{fmt(r.sensitivity)}</td>
      <td>{fmt(r.specificity)}</td>
    </tr>
  );
}

/** Runs: sortable, filterable table with live progress bars for queued and running runs. */
export function RunsPage() {
  const [rows, setRows] = useState<RunRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const [minAuc, setMinAuc] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 }>({ key: 'createdAt', dir: -1 });
  useEffect(() => {
    const q = new URLSearchParams({ limit: '100' });
    if (status) q.set('status', status);
    if (minAuc) q.set('minAuc', minAuc);
    api<{ items: RunRow[] }>(`/runs?${q}`)
      .then((r) => {
        setRows(r.items);
        setError(null);
      })
      .catch((e) => setError(String(e)));
  }, [status, minAuc]);
  // A live update changes the row in place; a final state reloads the row for its metrics.
  const onUpdate = useCallback((id: string, u: { progress: number; status: string }) => {
    setRows((rs) => rs && rs.map((r) => (r.id === id ? { ...r, ...u } : r)));
    if (!ACTIVE.has(u.status))
      api<RunRow>(`/runs/${id}`)
        .then((full) =>
          setRows(
            (rs) =>
              rs &&
              rs.map((r) =>
                r.id === id
                  ? {
                      ...r,
                      status: full.status,
                      progress: full.progress,
                      auc: full.auc,
                      sensitivity: full.sensitivity,
                      specificity: full.specificity,
                    }
                  : r,
              ),
          ),
        )
        .catch(() => undefined);
  }, []);
  const sorted = useMemo(() => {
    if (!rows) return [];
    const v = (r: RunRow) => r[sort.key];
    return [...rows].sort((a, b) => {
      const x = v(a);
      const y = v(b);
      if (x === y) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * sort.dir;
    });
  }, [rows, sort]);
  return (
    <section>
      <h1>Runs</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status{' '}
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">any</option>
            {['queued', 'running', 'succeeded', 'failed', 'canceled'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>{' '}
        <label>
          Minimum AUC{' '}
          <input
            type="number"
            min={0}
            max={1}
            step={0.01}
            value={minAuc}
            onChange={(e) => setMinAuc(e.target.value)}
          />
        </label>
      </form>
      {error && <p role="alert">{error}</p>}
      {rows === null ? (
        <p>Loading…</p>
      ) : (
        <table aria-label="Runs">
          <thead>
            <tr>
              <th scope="col">Run</th>
              {COLUMNS.map(([key, label]) => (
                <th
                  key={key}
                  scope="col"
                  aria-sort={sort.key === key ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}
                >
                  <button
                    type="button"
                    onClick={() => setSort((s) => ({ key, dir: s.key === key ? (-s.dir as 1 | -1) : -1 }))}
                  >
                    {label}
                    {sort.key === key ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {sorted.map((r) => (
              <RunRowView key={r.id} run={r} onUpdate={onUpdate} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
