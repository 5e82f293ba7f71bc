/**
 * A tiny hash router: `#/`, `#/add`, `#/jobs/<id>`, `#/play/<id>`, `#/movies`, `#/settings`.
 * The fragment never reaches the server, so one page at `/` serves every screen.
 */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { screen: 'downloads' }
  | { screen: 'add' }
  | { screen: 'job'; id: string }
  | { screen: 'play'; id: string }
  | { screen: 'movies' }
  | { screen: 'settings' }
  | { screen: 'not-found'; path: string };

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  if (path === '/' || path === '') return { screen: 'downloads' };
  if (path === '/add') return { screen: 'add' };
  if (path === '/movies') return { screen: 'movies' };
  if (path === '/settings') return { screen: 'settings' };
  const match = /^\/(jobs|play)\/([^/]+)$/.exec(path);
  if (match?.[1] !== undefined && match[2] !== undefined) {
    try {
      const id = decodeURIComponent(match[2]);
      return match[1] === 'jobs' ? { screen: 'job', id } : { screen: 'play', id };
    } catch {
      // A malformed escape: not one of ours.
    }
  }
  return { screen: 'not-found', path };
}

export function href(route: Route): string {
  switch (route.screen) {
    case 'downloads':
      return '#/';
    case 'add':
      return '#/add';
    case 'movies':
      return '#/movies';
    case 'settings':
      return '#/settings';
    case 'job':
      return `#/jobs/${encodeURIComponent(route.id)}`;
    case 'play':
      return `#/play/${encodeURIComponent(route.id)}`;
    case 'not-found':
      return `#${route.path}`;
    default:
      return route satisfies never;
  }
}

export function navigate(route: Route): void {
  location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
