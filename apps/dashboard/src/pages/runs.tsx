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

/** The sorts the API offers (server-side, with cursors); a metric sort lists runs that have it. */
type SortKey = 'createdAt' | 'auc' | 'sensitivity' | 'specificity';
const COLUMNS: Array<[SortKey | null, string]> = [
  ['createdAt', 'Created'],
  [null, 'Status'],
  [null, 'Progress'],
  ['auc', 'AUC'],
  ['sensitivity', 'Sensitivity'],
  ['specificity', 'Specificity'],
];
const PAGE = 50;
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

/**
 * Runs: sorted and filtered by the API (so the order holds over every run, not just one page), paged
 * with the API's cursor, with live status and progress for queued and running runs.
 */
export function RunsPage() {
  const [rows, setRows] = useState<RunRow[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const [minAuc, setMinAuc] = useState('');
  const [minSens, setMinSens] = useState('');
  const [minSpec, setMinSpec] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; order: 'asc' | 'desc' }>({
    key: 'createdAt',
    order: 'desc',
  });
  const query = useMemo(() => {
    const q = new URLSearchParams({ limit: String(PAGE), sort: sort.key, order: sort.order });
    if (status) q.set('status', status);
    if (minAuc) q.set('minAuc', minAuc);
    if (minSens) q.set('minSensitivity', minSens);
    if (minSpec) q.set('minSpecificity', minSpec);
    return q.toString();
  }, [status, minAuc, minSens, minSpec, sort]);
  useEffect(() => {
    let live = true;
    api<{ items: RunRow[]; nextCursor: string | null }>(`/runs?${query}`)
      .then((r) => {
        if (!live) return;
        setRows(r.items);
        setNext(r.nextCursor);
        setError(null);
      })
      .catch((e) => live && setError(String(e)));
    return () => {
      live = false;
    };
  }, [query]);
  const more = () =>
    next &&
    api<{ items: RunRow[]; nextCursor: string | null }>(`/runs?${query}&cursor=${encodeURIComponent(next)}`)
      .then((r) => {
        setRows((rs) => [...(rs ?? []), ...r.items]);
        setNext(r.nextCursor);
      })
      .catch((e) => setError(String(e)));
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
  const rate = (label: string, value: string, set: (v: string) => void) => (
    <label>
      {label}{' '}
      <input type="number" min={0} max={1} step={0.01} value={value} onChange={(e) => set(e.target.value)} />
    </label>
  );
  return (
    <section>
      <h1>Runs</h1>
      <form className="controls" onSubmit={(e) => e.preventDefault()} aria-label="Filter runs">
        <label>
          Status{' '}
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">any</option>
            {['queued', 'running', 'succeeded', 'failed', 'canceled'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        {rate('Minimum AUC', minAuc, setMinAuc)}
        {rate('Minimum sensitivity', minSens, setMinSens)}
        {rate('Minimum specificity', minSpec, setMinSpec)}
      </form>
      {sort.key !== 'createdAt' && (
        <p>Sorted by {sort.key}: only runs that have it (finished runs) are listed.</p>
      )}
      {error && <p role="alert">{error}</p>}
      {rows === null ? (
        <p>Loading…</p>
      ) : (
        <>
          <table aria-label="Runs">
            <thead>
              <tr>
                <th scope="col">Run</th>
                {COLUMNS.map(([key, label]) =>
                  key === null ? (
                    <th key={label} scope="col">
                      {label}
                    </th>
                  ) : (
                    <th
                      key={key}
                      scope="col"
                      aria-sort={
                        sort.key === key ? (sort.order === 'asc' ? 'ascending' : 'descending') : 'none'
                      }
                    >
                      <button
                        type="button"
                        onClick={() =>
                          setSort((s) => ({
                            key,
                            order: s.key === key && s.order === 'desc' ? 'asc' : 'desc',
                          }))
                        }
                      >
                        {label}
                        {sort.key === key ? (sort.order === 'asc' ? ' ▲' : ' ▼') : ''}
                      </button>
                    </th>
                  ),
                )}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <RunRowView key={r.id} run={r} onUpdate={onUpdate} />
              ))}
            </tbody>
          </table>
          {rows.length === 0 && <p>No runs match.</p>}
          {next && (
            <button type="button" onClick={more}>
              Show more runs
            </button>
          )}
        </>
      )}
    </section>
  );
}
