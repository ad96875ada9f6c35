import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError, roleOf, session, type Role } from './api';
import { ModelsPage } from './pages/models';
import { QueuesPage } from './pages/queues';
import { RunPage } from './pages/run';
import { RunsPage } from './pages/runs';
import { ScoringPage } from './pages/scoring';
import { SweepPage, SweepsPage } from './pages/sweeps';
import './style.css';

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/runs');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/runs');
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function SignIn(props: { onSignedIn: (role: Role) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main className="signin">
      <h1>Fundus screening</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            const role = await roleOf(key.trim());
            session.set(key.trim());
            props.onSignedIn(role);
          } catch (err) {
            setError(
              err instanceof ApiError && err.status === 401 ? 'This API key is not valid.' : String(err),
            );
          } finally {
            setBusy(false);
          }
        }}
      >
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          required
        />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

function App() {
  const hash = useHash();
  const [role, setRole] = useState<Role | null>(null);
  const [checking, setChecking] = useState(session.key !== null);
  useEffect(() => {
    const key = session.key;
    if (!key) return;
    roleOf(key)
      .then(setRole)
      .catch(() => session.clear())
      .finally(() => setChecking(false));
  }, []);
  if (checking) return <p>Checking the key…</p>;
  if (!role) return <SignIn onSignedIn={setRole} />;
  const parts = hash.replace(/^#\/?/, '').split('/');
  let page;
  if (parts[0] === 'runs' && parts[1]) page = <RunPage id={parts[1]} />;
  else if (parts[0] === 'models') page = <ModelsPage role={role} />;
  else if (parts[0] === 'sweeps' && parts[1]) page = <SweepPage id={parts[1]} />;
  else if (parts[0] === 'sweeps') page = <SweepsPage />;
  else if (parts[0] === 'scoring') page = <ScoringPage />;
  else if (parts[0] === 'queues') page = <QueuesPage role={role} />;
  else page = <RunsPage />;
  const link = (href: string, label: string) => (
    <a href={href} aria-current={hash.startsWith(href) ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <>
      <header>
        <strong>Fundus screening</strong>
        <nav aria-label="Main">
          {link('#/runs', 'Runs')}
          {link('#/sweeps', 'Sweeps')}
          {link('#/models', 'Models')}
          {link('#/scoring', 'Scoring')}
          {role === 'admin' && link('#/queues', 'Queues')}
        </nav>
        <span className="who">
          Signed in as <b data-testid="role">{role}</b>{' '}
          <button
            type="button"
            onClick={() => {
              session.clear();
              setRole(null);
            }}
          >
            Sign out
          </button>
        </span>
      </header>
      <main>{page}</main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
