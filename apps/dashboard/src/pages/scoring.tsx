import { useEffect, useState } from 'react';
import { api } from '../api';

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
    </section>
  );
}
