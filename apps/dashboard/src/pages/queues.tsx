import type { Role } from '../api';

/** Queues: the API's Bull Board (admins only) — waiting, active, failed jobs, retries. */
export function QueuesPage(props: { role: Role }) {
  return (
    <section>
      <h1>Queues</h1>
      {props.role === 'admin' ? (
        <p>
          Queue counts, failed jobs with their errors and retries are on the{' '}
          <a href="/admin/queues" target="_blank" rel="noreferrer">
            queue board
          </a>{' '}
          (admin key required).
        </p>
      ) : (
        <p>Only admins can see the queues.</p>
      )}
    </section>
  );
}
