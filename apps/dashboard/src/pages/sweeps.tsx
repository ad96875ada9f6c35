import { useEffect, useState } from 'react';
import { api } from '../api';
import { HeatMap, LineChart } from '../charts';
import { fmt } from '../metrics';

interface Sweep {
  id: string;
  leaderboard?: LeaderRow[] | null;
  name?: string | null;
  status: string;
  createdAt: string;
}

/** One leaderboard row as the sweep stored it (best first). */
interface LeaderRow {
  runId: string;
  objective: number | null;
}

interface Trial {
  id: string;
  trialIndex: number | null;
  status: string;
  objective: number | null;
  auc: number | null;
  valAuc: number | null;
  sensitivity: number | null;
  specificity: number | null;
  config: { loss?: { alpha?: number; gamma?: number }; learningRate?: number };
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728'];

/** Sweeps, newest first. */
export function SweepsPage() {
  const [rows, setRows] = useState<Sweep[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<{ items: Sweep[] }>('/sweeps?limit=100')
      .then((r) => setRows(r.items))
      .catch((e) => setError(String(e)));
  }, []);
  return (
    <section>
      <h1>Sweeps</h1>
      {error && <p role="alert">{error}</p>}
      {rows && rows.length === 0 && <p>No sweeps yet.</p>}
      {rows && rows.length > 0 && (
        <table aria-label="Sweeps">
          <thead>
            <tr>
              <th scope="col">Sweep</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <tr key={s.id}>
                <td>
                  <a href={`#/sweeps/${s.id}`}>{s.name ?? s.id.slice(0, 8)}</a>
                </td>
                <td>{s.status}</td>
                <td>{new Date(s.createdAt).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** One sweep: leaderboard of its trials by objective and the alpha × gamma heat map. */
export function SweepPage(props: { id: string }) {
  const [sweep, setSweep] = useState<(Sweep & { trials: Trial[]; counts: Record<string, number> }) | null>(
    null,
  );
  const [error, setError] = useState<string | null>(null);
  const [chosen, setChosen] = useState<string[]>([]);
  const [rocs, setRocs] = useState<Record<string, Array<[number, number]>>>({});
  useEffect(() => {
    for (const id of chosen) {
      if (rocs[id]) continue;
      api<{ curves: { roc: Array<{ fpr: number; tpr: number }> } | null }>(`/runs/${id}`)
        .then((r) => setRocs((m) => ({ ...m, [id]: (r.curves?.roc ?? []).map((p) => [p.fpr, p.tpr]) })))
        .catch((e) => setError(String(e)));
    }
  }, [chosen, rocs]);
  useEffect(() => {
    api<Sweep & { trials: Trial[]; counts: Record<string, number> }>(`/sweeps/${props.id}`)
      .then(setSweep)
      .catch((e) => setError(String(e)));
  }, [props.id]);
  if (error) return <p role="alert">{error}</p>;
  if (!sweep) return <p>Loading…</p>;
  // The sweep's stored leaderboard once finished; until then trials by objective so far.
  const byId = new Map(sweep.trials.map((t) => [t.id, t]));
  const stored = (sweep.leaderboard ?? []).map((r) => byId.get(r.runId)).filter((t): t is Trial => !!t);
  const board =
    stored.length > 0
      ? [...stored, ...sweep.trials.filter((t) => !stored.includes(t))]
      : [...sweep.trials].sort((a, b) => (b.objective ?? -Infinity) - (a.objective ?? -Infinity));
  const cells = new Map<string, { x: number; y: number; value: number | null }>();
  for (const t of sweep.trials) {
    const x = t.config.loss?.alpha;
    const y = t.config.loss?.gamma;
    if (x === undefined || y === undefined) continue;
    const k = `${x}|${y}`;
    const prev = cells.get(k);
    if (!prev || (t.objective ?? -Infinity) > (prev.value ?? -Infinity))
      cells.set(k, { x, y, value: t.objective });
  }
  return (
    <section>
      <h1>Sweep {sweep.name ?? sweep.id.slice(0, 8)}</h1>
      <p>
        Status <b>{sweep.status}</b> ·{' '}
        {Object.entries(sweep.counts)
          .map(([k, v]) => `${v} ${k}`)
          .join(', ')}
      </p>
      <h2>Leaderboard</h2>
      <table aria-label="Leaderboard">
        <thead>
          <tr>
            <th scope="col">Rank</th>
            <th scope="col">Trial</th>
            <th scope="col">alpha</th>
            <th scope="col">gamma</th>
            <th scope="col">Objective</th>
            <th scope="col">Val AUC</th>
            <th scope="col">Test AUC</th>
            <th scope="col">Status</th>
            <th scope="col">ROC overlay (2–4)</th>
          </tr>
        </thead>
        <tbody>
          {board.map((t, i) => (
            <tr key={t.id}>
              <td>{i + 1}</td>
              <td>
                <a href={`#/runs/${t.id}`}>#{t.trialIndex}</a>
              </td>
              <td>{t.config.loss?.alpha ?? '—'}</td>
              <td>{t.config.loss?.gamma ?? '—'}</td>
              <td>{fmt(t.objective)}</td>
              <td>{fmt(t.valAuc)}</td>
              <td>{fmt(t.auc)}</td>
              <td>{t.status}</td>
              <td>
                <input
                  type="checkbox"
                  aria-label={`Overlay the ROC of trial ${t.trialIndex}`}
                  checked={chosen.includes(t.id)}
                  disabled={!chosen.includes(t.id) && chosen.length >= 4}
                  onChange={(e) =>
                    setChosen((c) => (e.target.checked ? [...c, t.id] : c.filter((x) => x !== t.id)))
                  }
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {chosen.length >= 2 && chosen.every((id) => rocs[id]) && (
        <LineChart
          title="ROC of the chosen trials (validation)"
          xLabel="1 − specificity"
          yLabel="sensitivity"
          xDomain={[0, 1]}
          yDomain={[0, 1]}
          diagonal
          series={chosen.map((id, i) => ({
            name: `trial ${byId.get(id)?.trialIndex ?? '?'}`,
            color: COLORS[i % COLORS.length],
            points: rocs[id],
          }))}
        />
      )}
      {cells.size > 0 && (
        <HeatMap
          title="Best objective by alpha × gamma"
          xLabel="alpha"
          yLabel="gamma"
          cells={[...cells.values()]}
        />
      )}
    </section>
  );
}
