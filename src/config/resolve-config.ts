/**
 * The one typed configuration, read once and passed down. Layers, later ones winning:
 * defaults (SETTINGS) ← config file (JSON) ← environment (`CHILLY_*`, `TMDB_*`) ← command-line
 * flags ← the caller's overrides. Nothing else in the backend reads `process.env`: callers hand
 * their environment in.
 */
import path from 'node:path';
import type { ChillyConfig } from './chilly-config.js';
import { closestName } from './closest-name.js';
import {
  type ConfigFileInfo,
  locateConfigFile,
  parseConfigFile,
  readableByOthers,
  readConfigFile,
} from './config-file.js';
import type { ConfigSource } from './config-source.js';
import { MEDIA_FOLDER_NAME } from './defaults.js';
import { type Environment, nonEmptyString } from './environment.js';
import { settingFromText } from './setting-values.js';
import { SETTINGS, type SettingKey } from './settings.js';
import { defaultDataDir } from './user-folders.js';

/** Raw flag values by setting key, as the command line gave them (strings). */
export type ConfigFlags = Partial<Record<SettingKey, string>>;

export interface ResolveConfigOptions {
  /** The environment to read (the CLI passes `process.env`; tests pass their own). Default: empty. */
  env?: Environment;
  flags?: ConfigFlags;
  /**
   * The config file: a path (from `--config`), `false` for none, or undefined for `CHILLY_CONFIG`
   * or else `<XDG config dir>/chilly-movies/config.json` when it exists.
   */
  configFile?: string | false;
  /** Relative paths from the environment and flags are resolved here (default: process.cwd()). */
  cwd?: string;
  platform?: NodeJS.Platform;
  /** Typed values that win over everything (the library's and tests' way in). */
  overrides?: Partial<ChillyConfig>;
}

export interface ResolvedConfig {
  config: ChillyConfig;
  sources: Record<SettingKey, ConfigSource>;
  file: ConfigFileInfo | undefined;
  /** Things worth telling the user that are not errors (e.g. a likely typo in a variable name). */
  warnings: string[];
}

/**
 * Builds the configuration from the environment, defaults and `overrides`. Reads a config file
 * only when the environment names one (`CHILLY_CONFIG`); the `chilly` command uses
 * `resolveConfig`, which also looks in the default location and takes flags.
 */
export function loadConfig(env: Environment = process.env, overrides: Partial<ChillyConfig> = {}): ChillyConfig {
  return resolveConfig({ env, overrides, configFile: nonEmptyString(env.CHILLY_CONFIG) ?? false }).config;
}

/** The whole layering: defaults ← config file ← environment ← flags ← overrides. */
export function resolveConfig(options: ResolveConfigOptions = {}): ResolvedConfig {
  const env = options.env ?? {};
  const cwd = options.cwd ?? process.cwd();
  const platform = options.platform ?? process.platform;
  const warnings: string[] = [];
  const values = new Map<SettingKey, { value: unknown; source: ConfigSource }>();

  const file = locateConfigFile(options.configFile, env, cwd, platform);
  if (file !== undefined) {
    const text = readConfigFile(file);
    if (text !== undefined) {
      file.loaded = true;
      const entries = parseConfigFile(text, file.path, env);
      for (const [key, value] of entries) values.set(key, { value, source: { kind: 'file', file: file.path } });
      const secrets = entries.filter(([key]) => SETTINGS.some((spec) => spec.key === key && 'secret' in spec));
      if (secrets.length > 0 && platform !== 'win32' && readableByOthers(file.path)) {
        warnings.push(
          `The config file ${file.path} holds ${secrets.map(([key]) => key).join(', ')} and other users can read it: ` +
            'run chmod 600 on it.',
        );
      }
    }
  }

  for (const spec of SETTINGS) {
    const raw = nonEmptyString(env[spec.env]);
    if (raw === undefined) continue;
    const source: ConfigSource = { kind: 'env', name: spec.env };
    values.set(spec.key, { value: settingFromText(spec, raw, source, cwd), source });
  }
  warnings.push(...unknownVariableWarnings(env));

  for (const spec of SETTINGS) {
    const raw = options.flags?.[spec.key];
    if (raw === undefined || spec.flag === undefined) continue;
    const source: ConfigSource = { kind: 'flag', name: spec.flag };
    values.set(spec.key, { value: settingFromText(spec, raw, source, cwd), source });
  }

  const sources = {} as Record<SettingKey, ConfigSource>;
  /** The value a layer set; else `computed()`, for the defaults worked out here; else the default in SETTINGS. */
  const pick = <T>(key: SettingKey, computed?: () => T): T => {
    const entry = values.get(key);
    sources[key] = entry?.source ?? { kind: 'default' };
    if (entry !== undefined) return entry.value as T;
    return computed === undefined ? (fixedDefault(key) as T) : computed();
  };

  const dataDir = pick('dataDir', () => defaultDataDir(env, platform));
  const config: ChillyConfig = {
    host: pick('host'),
    port: pick('port'),
    dataDir,
    // The server keeps downloads beside its database unless told otherwise, so one folder holds everything.
    mediaRoot: pick('mediaRoot', () => path.join(dataDir, MEDIA_FOLDER_NAME)),
    network: pick('network'),
    maxActiveDownloads: pick('maxActiveDownloads'),
    seeding: { ratio: pick('seeding.ratio'), minutes: pick('seeding.minutes') },
    // Unset: the server generates one into the data folder (src/api/token.ts).
    token: pick('token', (): string | undefined => undefined),
    allowedHosts: pick('allowedHosts'),
    allowedOrigins: pick('allowedOrigins'),
    torrentPort: pick('torrentPort'),
    tmdb: { apiKey: pick('tmdb.apiKey'), readToken: pick('tmdb.readToken'), baseUrl: pick('tmdb.baseUrl') },
    metadata: { autoIdentify: pick('metadata.autoIdentify') },
    engine: pick('engine'),
    qbittorrent: {
      url: pick('qbittorrent.url'),
      username: pick('qbittorrent.username'),
      password: pick('qbittorrent.password'),
    },
    transmission: {
      url: pick('transmission.url'),
      username: pick('transmission.username'),
      password: pick('transmission.password'),
    },
    enginePathMap: pick('enginePathMap'),
    downloadLimit: pick('downloadLimit'),
    uploadLimit: pick('uploadLimit'),
    // Relative ones would depend on where the server was started: resolved once, here.
    moveRoots: pick<string[]>('moveRoots').map((folder) => path.resolve(folder)),
    libraryDir: pick('libraryDir'),
    watchDir: pick('watchDir'),
    onComplete: { command: pick('onComplete.command'), webhook: pick('onComplete.webhook') },
    logLevel: pick('logLevel'),
    logFormat: pick('logFormat'),
  };
  const overrides = options.overrides ?? {};
  for (const key of Object.keys(overrides)) {
    for (const spec of SETTINGS) {
      if (spec.key === key || spec.key.startsWith(`${key}.`)) sources[spec.key] = { kind: 'override' };
    }
  }
  return { config: { ...config, ...overrides }, sources, file, warnings };
}

/** A setting's fixed default from SETTINGS; a list as a fresh copy, so a caller cannot change the catalogue's. */
function fixedDefault(key: SettingKey): unknown {
  const fallback = SETTINGS.find((spec) => spec.key === key)?.default;
  if (fallback === undefined || !('value' in fallback)) throw new Error(`The setting ${key} has no fixed default.`);
  return typeof fallback.value === 'object' ? [...fallback.value] : fallback.value;
}

const KNOWN_VARIABLES = [...SETTINGS.map((s) => s.env), 'CHILLY_CONFIG'];

/** Variables one or two typos away from a known name are almost certainly meant as it. */
function unknownVariableWarnings(env: Environment): string[] {
  const warnings: string[] = [];
  for (const name of Object.keys(env)) {
    if (!/^(CHILLY|TMDB)_/.test(name) || KNOWN_VARIABLES.includes(name)) continue;
    const hint = closestName(name, KNOWN_VARIABLES);
    if (hint !== undefined) warnings.push(`Ignoring the environment variable ${name}: did you mean ${hint}?`);
  }
  return warnings;
}
