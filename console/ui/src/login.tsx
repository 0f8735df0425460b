// Shown to a browser without a session: how to get a login link, or a
// Kubernetes bearer token to log in with (the console then shows only what
// that user may list).
import { useState } from 'preact/hooks';
import { api } from './api.ts';

export function LoginView({ onLogin }: { onLogin: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const submit = async (event: Event) => {
    event.preventDefault();
    setError('');
    try {
      await api('/login', { method: 'POST', body: { token } });
      onLogin();
      location.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <main class="centered login">
      <h1>Roost console</h1>
      <p>
        Open the one-time login link that <code>roost console --open</code> (or{' '}
        <code>roost dev</code>) prints.
      </p>
      <form onSubmit={submit}>
        <label for="token">Or log in with a Kubernetes bearer token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        <button type="submit" disabled={!token}>
          Log in
        </button>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
