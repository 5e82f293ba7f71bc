/** Not signed in: how to get in (`chilly open`), or paste the API token. */
import { useState } from 'preact/hooks';
import { describeError, signIn } from '../api.js';
import { ErrorMessage } from '../components/error-message.js';
import { ScreenTitle } from '../components/screen-title.js';

export function SignInScreen({ message, onSignedIn }: { message?: string | undefined; onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(message);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    if (busy) return;
    const value = token.trim();
    if (value === '') {
      setError('Paste the API token first (`chilly token` prints it).');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await signIn({ token: value });
      setToken('');
      onSignedIn();
    } catch (failure) {
      setError(describeError(failure));
      setBusy(false);
    }
  }

  return (
    <div class="narrow">
      <ScreenTitle>Sign in</ScreenTitle>
      <p class="lead">
        Run <code>chilly open</code> in a terminal on this computer: it opens this app in your browser, signed in.
      </p>
      <ErrorMessage message={error} />
      <form class="card" onSubmit={submit} aria-labelledby="token-heading">
        <h2 id="token-heading">Or paste the API token</h2>
        <p id="token-hint" class="hint">
          <code>chilly token</code> prints it. It is sent to this server once, to start a session, and is not kept in
          this page.
        </p>
        <div class="field">
          <label for="token">API token</label>
          <input
            id="token"
            name="token"
            type="password"
            autocomplete="off"
            spellcheck={false}
            aria-describedby="token-hint"
            value={token}
            onInput={(event) => setToken(event.currentTarget.value)}
          />
        </div>
        <button type="submit" aria-busy={busy}>
          Sign in
        </button>
      </form>
    </div>
  );
}
