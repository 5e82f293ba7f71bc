/**
 * The app: signs in (a `#signin=<code>` link from `chilly open`, or the pasted token), then the
 * header, the navigation and the screen the address names.
 */
import { useEffect, useState } from 'preact/hooks';
import { describeError, getSession, onSessionLost, signIn, signOut } from './api.js';
import { Announcer } from './components/announcer.js';
import { ErrorMessage } from './components/error-message.js';
import { focusNextScreenTitle, ScreenTitle } from './components/screen-title.js';
import { jobsStore } from './jobs-store.js';
import { href, type Route, useRoute } from './router.js';
import { AddScreen } from './screens/add.js';
import { DownloadsScreen } from './screens/downloads.js';
import { JobScreen } from './screens/job.js';
import { MoviesScreen } from './screens/movies.js';
import { PlayerScreen } from './screens/player.js';
import { SettingsScreen } from './screens/settings.js';
import { SignInScreen } from './screens/signin.js';

type Session =
  | { state: 'checking' }
  | { state: 'signed-in' }
  | { state: 'signed-out'; message?: string | undefined }
  | { state: 'unreachable'; message: string };

/**
 * The code of a sign-in link, taken out of the address bar at once: it works only once, and must
 * not stay in the history, a bookmark or a screenshot.
 */
function takeSignInCode(): string | undefined {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
  const code = fragment.get('signin');
  if (code === null) return undefined;
  history.replaceState(history.state, '', `${location.pathname}${location.search}`);
  return code;
}

async function startSession(): Promise<Session> {
  const code = takeSignInCode();
  let message: string | undefined;
  if (code !== undefined) {
    try {
      await signIn({ code });
    } catch (failure) {
      message = describeError(failure);
    }
  }
  try {
    return (await getSession()) === null ? { state: 'signed-out', message } : { state: 'signed-in' };
  } catch (failure) {
    return { state: 'unreachable', message: describeError(failure) };
  }
}

export function App() {
  const [session, setSession] = useState<Session>({ state: 'checking' });

  useEffect(() => {
    onSessionLost(() => {
      jobsStore.stop();
      focusNextScreenTitle();
      setSession({ state: 'signed-out', message: 'Your session has ended: sign in again.' });
    });
    void startSession().then(setSession);
  }, []);

  useEffect(() => {
    if (session.state === 'signed-in') jobsStore.start();
  }, [session.state]);

  async function leave() {
    try {
      await signOut();
      jobsStore.stop();
      focusNextScreenTitle();
      setSession({ state: 'signed-out', message: 'Signed out.' });
    } catch (failure) {
      setSession({ state: 'unreachable', message: describeError(failure) });
    }
  }

  return (
    <>
      <header class="top">
        <button type="button" class="skip-link" onClick={skipToMain}>
          Skip to content
        </button>
        <a class="brand" href={href({ screen: 'downloads' })}>
          Chilly Movies
        </a>
        {session.state === 'signed-in' && <MainNav onSignOut={leave} />}
      </header>
      <main id="main" tabIndex={-1}>
        <Screen
          session={session}
          onSignedIn={() => {
            focusNextScreenTitle();
            setSession({ state: 'signed-in' });
          }}
        />
        <Announcer />
      </main>
    </>
  );
}

/** A button, not a link to `#main`: the fragment is the router's. */
function skipToMain() {
  document.getElementById('main')?.focus();
}

function Screen({ session, onSignedIn }: { session: Session; onSignedIn: () => void }) {
  switch (session.state) {
    case 'checking':
      return <p class="muted">Connecting to the server…</p>;
    case 'signed-out':
      return <SignInScreen message={session.message} onSignedIn={onSignedIn} />;
    case 'unreachable':
      return (
        <div class="narrow">
          <ScreenTitle>Cannot reach the server</ScreenTitle>
          <ErrorMessage message={session.message} />
          <button type="button" onClick={() => location.reload()}>
            Try again
          </button>
        </div>
      );
    case 'signed-in':
      return <SignedIn />;
    default:
      return session satisfies never;
  }
}

function SignedIn() {
  const route = useRoute();
  switch (route.screen) {
    case 'downloads':
      return <DownloadsScreen />;
    case 'add':
      return <AddScreen />;
    case 'job':
      return <JobScreen key={route.id} id={route.id} />;
    case 'play':
      return <PlayerScreen key={route.id} id={route.id} />;
    case 'movies':
      return <MoviesScreen />;
    case 'settings':
      return <SettingsScreen />;
    case 'not-found':
      return (
        <>
          <ScreenTitle>Nothing here</ScreenTitle>
          <p>
            The app has no page at <code>{route.path}</code>.{' '}
            <a href={href({ screen: 'downloads' })}>Go to the downloads</a>.
          </p>
        </>
      );
    default:
      return route satisfies never;
  }
}

const NAV: ReadonlyArray<{ route: Route; label: string }> = [
  { route: { screen: 'downloads' }, label: 'Downloads' },
  { route: { screen: 'add' }, label: 'Add' },
  { route: { screen: 'movies' }, label: 'Movies' },
  { route: { screen: 'settings' }, label: 'Settings' },
];

function MainNav({ onSignOut }: { onSignOut: () => void }) {
  const route = useRoute();
  const section = route.screen === 'job' || route.screen === 'play' ? 'downloads' : route.screen;
  return (
    <>
      <nav aria-label="Main" class="main-nav">
        <ul>
          {NAV.map((item) => (
            <li key={item.label}>
              <a href={href(item.route)} aria-current={item.route.screen === section ? 'page' : undefined}>
                {item.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <button type="button" class="secondary sign-out" onClick={onSignOut}>
        Sign out
      </button>
    </>
  );
}
