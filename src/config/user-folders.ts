/**
 * The per-user folders for data and configuration: XDG on Linux, Library on macOS, AppData on
 * Windows, worked out from the environment and platform handed in, never this process's own.
 *
 * The same layout as the `env-paths` package (without its `-nodejs` suffix), which cannot be used
 * here: it reads `process.env`, `process.platform` and the home folder of this process when it is
 * first imported, so neither a caller's environment nor a test's HOME/XDG could decide.
 */
import os from 'node:os';
import path from 'node:path';
import { type Environment, nonEmptyString } from './environment.js';

const APP_NAME = 'chilly-movies';
export const CONFIG_FILE_NAME = 'config.json';

/** Where XDG puts data and configuration, under the home folder, when its variable is unset. */
const XDG_DATA_FALLBACK = ['.local', 'share'];
const XDG_CONFIG_FALLBACK = ['.config'];

export interface UserFolders {
  data: string;
  config: string;
}

export function userFolders(env: Environment = {}, platform: NodeJS.Platform = process.platform): UserFolders {
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
    data: path.join(nonEmptyString(env.XDG_DATA_HOME) ?? path.join(home, ...XDG_DATA_FALLBACK), APP_NAME),
    config: path.join(nonEmptyString(env.XDG_CONFIG_HOME) ?? path.join(home, ...XDG_CONFIG_FALLBACK), APP_NAME),
  };
}

/** The Linux defaults as help texts and the README write them (`~/.local/share/chilly-movies`). */
export const DOCUMENTED_FOLDERS = {
  dataDir: ['~', ...XDG_DATA_FALLBACK, APP_NAME].join('/'),
  configFile: ['~', ...XDG_CONFIG_FALLBACK, APP_NAME, CONFIG_FILE_NAME].join('/'),
} as const;

export function defaultDataDir(env: Environment = {}, platform: NodeJS.Platform = process.platform): string {
  return userFolders(env, platform).data;
}

export function defaultConfigFile(env: Environment = {}, platform: NodeJS.Platform = process.platform): string {
  return path.join(userFolders(env, platform).config, CONFIG_FILE_NAME);
}

/** `~/films` → `<HOME>/films`; anything else as it is. */
export function expandHome(value: string, env: Environment): string {
  if (!value.startsWith('~/')) return value;
  return path.join(nonEmptyString(env.HOME) ?? os.homedir(), value.slice(2));
}
