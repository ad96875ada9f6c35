import { useCallback, useEffect, useState } from 'react';
import { api, type Role } from '../api';

interface QueueInfo {
  name: string;
  counts: Record<string, number>;
  jobs: Array<{ id: string; name: string; failedReason?: string; attempts: number; timestamp: number }>;
}

const BOARD = '/admin/queues/api/queues';
const SHOWN = ['waiting', 'active', 'delayed', 'completed', 'failed'];

/**
 * Queues (admins only, through the API's Bull Board JSON): waiting/active/failed counts per queue,
 * the failed jobs of one queue with their error, and retry of a failed job.
 */
export function QueuesPage(props: { role: Role }) {
  const [queues, setQueues] = useState<QueueInfo[] | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    const q = open ? `?activeQueue=${encodeURIComponent(open)}&status=failed&page=1` : '';
    api<{ queues: QueueInfo[] }>(`${BOARD}${q}`)
      .then((r) => setQueues(r.queues))
      .catch((e) => setError(String(e)));
  }, [open]);
  useEffect(() => {
    if (props.role === 'admin') load();
  }, [load, props.role]);
  if (props.role !== 'admin') return <p>Only admins can see the queues.</p>;
  const failed = queues?.find((q) => q.name === open);
  return (
    <section>
      <h1>Queues</h1>
      {error && <p role="alert">{error}</p>}
      {queues && (
        <table aria-label="Queue counts">
          <thead>
            <tr>
              <th scope="col">Queue</th>
              {SHOWN.map((s) => (
                <th key={s} scope="col">
                  {s}
                </th>
              ))}
              <th scope="col">Failed jobs</th>
            </tr>
          </thead>
          <tbody>
            {queues.map((q) => (
              <tr key={q.name} data-queue={q.name}>
                <th scope="row">{q.name}</th>
                {SHOWN.map((s) => (
                  <td key={s} data-count={s}>
                    {q.counts[s] ?? 0}
                  </td>
                ))}
                <td>
                  <button type="button" onClick={() => setOpen(q.name)} disabled={!q.counts.failed}>
                    Show failed jobs of {q.name}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {failed && (
        <>
          <h2>Failed jobs of {failed.name}</h2>
          <table aria-label="Failed jobs">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Attempts</th>
                <th scope="col">Error</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {failed.jobs.map((j) => (
                <tr key={j.id}>
                  <td>
                    {j.name} #{j.id}
                  </td>
                  <td>{j.attempts}</td>
                  <td>{j.failedReason ?? ''}</td>
                  <td>
                    <button
                      type="button"
                      onClick={() =>
                        api(`${BOARD}/${encodeURIComponent(failed.name)}/${encodeURIComponent(j.id)}/retry`, {
                          method: 'PUT',
                        })
                          .then(load)
                          .catch((e) => setError(String(e)))
                      }
                    >
                      Retry job {j.id}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
