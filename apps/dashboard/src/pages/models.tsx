import { useCallback, useEffect, useRef, useState } from 'react';
import { api, type Role } from '../api';
import { fmt } from '../metrics';

interface ModelRow {
  id: string;
  version: number;
  runId: string;
  format: string;
  architecture: string;
  inputSize: number;
  threshold: number;
  champion: boolean;
  promotedAt: string | null;
  createdAt: string;
  run: { auc: number | null; sensitivity: number | null; specificity: number | null };
}

/** Model versions and the champion; promotion (admins only) asks for confirmation first. */
export function ModelsPage(props: { role: Role }) {
  const [rows, setRows] = useState<ModelRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState<ModelRow | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  const load = useCallback(() => {
    api<{ items: ModelRow[] }>('/models?limit=100')
      .then((r) => setRows(r.items))
      .catch((e) => setError(String(e)));
  }, []);
  useEffect(load, [load]);
  useEffect(() => {
    if (pending) dialog.current?.showModal();
    else dialog.current?.close();
  }, [pending]);
  const canPromote = props.role === 'admin' || props.role === 'researcher';
  return (
    <section>
      <h1>Models</h1>
      {error && <p role="alert">{error}</p>}
      {rows === null ? (
        <p>Loading…</p>
      ) : (
        <table aria-label="Model versions">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Run</th>
              <th scope="col">Architecture</th>
              <th scope="col">Threshold</th>
              <th scope="col">Test AUC</th>
              <th scope="col">Sensitivity</th>
              <th scope="col">Specificity</th>
              <th scope="col">Champion</th>
              {canPromote && <th scope="col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {rows.map((m) => (
              <tr key={m.id} data-model-id={m.id}>
                <td>v{m.version}</td>
                <td>
                  <a href={`#/runs/${m.runId}`}>{m.runId.slice(0, 8)}</a>
                </td>
                <td>
                  {m.architecture} {m.inputSize}px
                </td>
                <td>{fmt(m.threshold)}</td>
                <td>{fmt(m.run.auc)}</td>
                <td>{fmt(m.run.sensitivity)}</td>
                <td>{fmt(m.run.specificity)}</td>
                <td data-champion={m.champion ? 'yes' : 'no'}>{m.champion ? '★ champion' : ''}</td>
                {canPromote && (
                  <td>
                    {!m.champion && (
                      <button type="button" onClick={() => setPending(m)}>
                        Promote v{m.version}
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <dialog ref={dialog} aria-labelledby="promote-title" onClose={() => setPending(null)}>
        {pending && (
          <form
            method="dialog"
            onSubmit={async (e) => {
              e.preventDefault();
              try {
                await api(`/models/${pending.id}/promote`, { method: 'POST' });
                setPending(null);
                load();
              } catch (err) {
                setError(String(err));
                setPending(null);
              }
            }}
          >
            <h2 id="promote-title">Promote model v{pending.version}?</h2>
            <p>It becomes the champion that scores new images; the current champion is replaced.</p>
            <button type="submit">Confirm promotion</button>{' '}
            <button type="button" onClick={() => setPending(null)}>
              Cancel
            </button>
          </form>
        )}
      </dialog>
    </section>
  );
}
