import { useEffect, useState } from 'react';
import {
  aucFromCounts,
  cumulativeCounts,
  rocFromCounts,
  rocOverlaySpec,
  sweepHeatmapSpec,
  type RocOverlayCurve,
} from '@fundus/metrics';
import { api } from '../api';
import { VegaChart } from '../charts';
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

/** A trial's validation ROC from its stored scores, or null when they hold one class only. */
function validationRoc(
  v: { labels: number[]; scores: number[] } | null,
  name: string,
): RocOverlayCurve | null {
  if (!v) return null;
  const c = cumulativeCounts(v.labels, v.scores);
  if (c.positives === 0 || c.negatives === 0) return null;
  return { name, roc: rocFromCounts(c), auc: aucFromCounts(c) };
}

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
  const [rocs, setRocs] = useState<Record<string, RocOverlayCurve | null>>({});
  useEffect(() => {
    for (const id of chosen) {
      if (id in rocs) continue;
      const name = `trial ${sweep?.trials.find((t) => t.id === id)?.trialIndex ?? '?'}`;
      api<{ validation: { labels: number[]; scores: number[] } | null }>(`/runs/${id}/scores`)
        .then((r) => setRocs((m) => ({ ...m, [id]: validationRoc(r.validation, name) })))
        .catch((e) => setError(String(e)));
    }
  }, [chosen, rocs, sweep]);
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
  const curves = chosen.map((id) => rocs[id]).filter((c): c is RocOverlayCurve => !!c);
  const overlay =
    chosen.length >= 2 && curves.length === chosen.length
      ? rocOverlaySpec(curves, 'ROC of the chosen trials (validation)')
      : null;
  const heat =
    cells.size > 0
      ? sweepHeatmapSpec(
          [...cells.values()].map((c) => ({ alpha: c.x, gamma: c.y, objective: c.value ?? undefined })),
          'objective of the sweep (best trial per cell)',
        )
      : null;
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
      {chosen.length === 1 && <p>Choose one to three more trials to compare their ROC curves.</p>}
      <div className="charts">
        {overlay && (
          <VegaChart name="roc-overlay" spec={overlay} label="ROC of the chosen trials (validation)" />
        )}
        {heat && (
          <>
            <VegaChart name="sweep-heatmap" spec={heat} label="Sweep objective by alpha × gamma" />
            <HeatTable cells={[...cells.values()]} />
          </>
        )}
      </div>
    </section>
  );
}

/** The heat map's numbers as a table (rows gamma, columns alpha) for screen readers and keyboards. */
function HeatTable(props: { cells: Array<{ x: number; y: number; value: number | null }> }) {
  const xs = [...new Set(props.cells.map((c) => c.x))].sort((a, b) => a - b);
  const ys = [...new Set(props.cells.map((c) => c.y))].sort((a, b) => a - b);
  const at = (x: number, y: number) => props.cells.find((c) => c.x === x && c.y === y);
  return (
    <table aria-label="Best objective by alpha × gamma">
      <thead>
        <tr>
          <th scope="col">gamma \ alpha</th>
          {xs.map((x) => (
            <th scope="col" key={x}>
              {x}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {ys.map((y) => (
          <tr key={y}>
            <th scope="row">{y}</th>
            {xs.map((x) => {
              const c = at(x, y);
              return <td key={x}>{c ? (c.value === null ? 'failed' : c.value.toFixed(3)) : ''}</td>;
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
