/**
 * Where the configuration and the data live by default, per platform and from the environment
 * handed in (never this process's): XDG on Linux, Library on macOS, AppData on Windows.
 */
import os from 'node:os';
import path from 'node:path';

export type Environment = Readonly<Record<string, string | undefined>>;

const APP_NAME = 'chilly-movies';
export const CONFIG_FILE_NAME = 'config.json';

export interface AppPaths {
  data: string;
  config: string;
}

/**
 * The per-user folders, as env-paths computes them, but from the environment handed in, so a
 * caller's environment (not this process's) decides: XDG on Linux, Library on macOS, AppData on Windows.
 */
export function appPaths(env: Environment = {}, platform: NodeJS.Platform = process.platform): AppPaths {
  const home = nonEmptyString(platform === 'win32' ? env.USERPROFILE : env.HOME) ?? os.homedir();
  if (platform === 'darwin') {
    const library = path.join(home, 'Library');
    return {
      data: path.join(library, 'Application Support', APP_NAME),
      config: path.join(library, 'Preferences', APP_NAME),
    };
  }
  if (platform === 'win32') {
    const appData = nonEmptyString(env.APPDATA) ?? path.join(home, 'AppData', 'Roaming');
    const localAppData = nonEmptyString(env.LOCALAPPDATA) ?? path.join(home, 'AppData', 'Local');
    return { data: path.join(localAppData, APP_NAME, 'Data'), config: path.join(appData, APP_NAME, 'Config') };
  }
  return {
    data: path.join(nonEmptyString(env.XDG_DATA_HOME) ?? path.join(home, '.local', 'share'), APP_NAME),
    config: path.join(nonEmptyString(env.XDG_CONFIG_HOME) ?? path.join(home, '.config'), APP_NAME),
  };
}

export function defaultDataDir(env: Environment = {}, platform: NodeJS.Platform = process.platform): string {
  return appPaths(env, platform).data;
}

export function defaultConfigFile(env: Environment = {}, platform: NodeJS.Platform = process.platform): string {
  return path.join(appPaths(env, platform).config, CONFIG_FILE_NAME);
}

/** `~/films` → `<HOME>/films`; anything else as it is. */
export function expandHome(value: string, env: Environment): string {
  if (!value.startsWith('~/')) return value;
  return path.join(nonEmptyString(env.HOME) ?? os.homedir(), value.slice(2));
}

/** The trimmed value; undefined when unset or blank (an empty variable counts as unset). */
export function nonEmptyString(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
