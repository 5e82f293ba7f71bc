/**
 * Which engine moves the bytes, and how Chilly reaches an engine that runs in its own process.
 * `webtorrent` is embedded; `qbittorrent` and `transmission` are daemons the user already runs
 * (on this machine, a NAS or a seedbox), driven through their own APIs.
 */
import path from 'node:path';

export const ENGINE_KINDS = ['webtorrent', 'qbittorrent', 'transmission'] as const;
export type EngineKind = (typeof ENGINE_KINDS)[number];

export function isEngineKind(value: unknown): value is EngineKind {
  return typeof value === 'string' && (ENGINE_KINDS as readonly string[]).includes(value);
}

/** How to reach a daemon's API. */
export interface EngineEndpoint {
  url: string;
  username: string | undefined;
  password: string | undefined;
}

/**
 * The engine's download folder as this machine sees it: a path the engine reports under `remote`
 * is read here under `local` (an NFS or SMB mount, a Docker volume). With it, finished files are
 * readable here (playing them, the library); without it they stay the engine's business.
 */
export interface EnginePathMap {
  /** A folder as the engine names it (absolute, '/'-separated, as on the engine's machine). */
  remote: string;
  /** The same folder on this machine (absolute). */
  local: string;
}

/** Reads `/remote/path=/local/path`; undefined when the text is not of that form. */
export function parseEnginePathMap(text: string): EnginePathMap | undefined {
  const at = text.lastIndexOf('=');
  if (at <= 0) return undefined;
  const remote = text.slice(0, at).trim().replace(/\/+$/, '') || '/';
  const local = text.slice(at + 1).trim();
  if (!remote.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(remote)) return undefined;
  if (local === '' || !path.isAbsolute(local)) return undefined;
  return { remote, local: path.resolve(local) };
}

/** A path the engine reported, as this machine reads it; undefined when it is outside the mapped folder. */
export function toLocalPath(map: EnginePathMap | undefined, enginePath: string): string | undefined {
  if (map === undefined) return undefined;
  const remote = map.remote.replace(/\\/g, '/');
  const reported = enginePath.replace(/\\/g, '/').replace(/\/+$/, '');
  if (reported === remote) return map.local;
  const prefix = remote.endsWith('/') ? remote : `${remote}/`;
  if (!reported.startsWith(prefix)) return undefined;
  const rest = reported.slice(prefix.length).split('/');
  if (rest.some((part) => part === '..' || part === '.' || part === '')) return undefined;
  return path.join(map.local, ...rest);
}

/** A path on this machine, as the engine names it; undefined when it is outside the mapped folder. */
export function toEnginePath(map: EnginePathMap | undefined, localPath: string): string | undefined {
  if (map === undefined) return undefined;
  const relative = path.relative(map.local, path.resolve(localPath));
  if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) return undefined;
  if (relative === '') return map.remote;
  const separator = map.remote.includes('\\') && !map.remote.includes('/') ? '\\' : '/';
  return [map.remote.replace(/[\\/]+$/, ''), ...relative.split(path.sep)].join(separator);
}
