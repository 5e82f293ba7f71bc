/**
 * The one typed configuration, read once and passed down. Layers, later ones winning:
 * defaults ← config file (JSON) ← environment (`CHILLY_*`, `TMDB_*`) ← command-line flags.
 * Nothing else in the backend reads `process.env`: callers hand their environment in.
 *
 * This module is the entry point and does the layering; the pieces live beside it:
 * config-settings.ts (SETTINGS, and checking a value of each kind), config-file.ts (finding,
 * reading and checking the config file) and config-paths.ts (the per-user folders).
 */
import path from 'node:path';
import {
  type ConfigFileInfo,
  locateConfigFile,
  parseConfigFile,
  readableByOthers,
  readConfigFile,
} from './config-file.js';
import { defaultDataDir, type Environment, nonEmptyString } from './config-paths.js';
import { type ConfigSource, closestName, SETTINGS, type SettingKey, settingFromText } from './config-settings.js';
import type { NetworkMode } from './network.js';

export type { ConfigFileInfo } from './config-file.js';
export { appPaths, CONFIG_FILE_NAME, defaultConfigFile, defaultDataDir, type Environment } from './config-paths.js';
export {
  ConfigError,
  type ConfigSource,
  describeSource,
  SETTINGS,
  type SettingKey,
  type SettingSpec,
} from './config-settings.js';

export interface SeedingPolicy {
  /** Stop seeding a completed job once uploaded/size reaches this. 0 turns seeding off. */
  ratio: number;
  /** Stop seeding a completed job after this many minutes. 0 turns seeding off. */
  minutes: number;
}

export interface ChillyConfig {
  host: string;
  port: number;
  /** Database, API token and caches. */
  dataDir: string;
  /** Downloads; each job gets `<mediaRoot>/<job id>/`. */
  mediaRoot: string;
  network: NetworkMode;
  maxActiveDownloads: number;
  seeding: SeedingPolicy;
  /** Overrides the generated API token when set. */
  token: string | undefined;
  /** Host names (besides localhost, 127.0.0.1, [::1]) that requests may address. */
  allowedHosts: string[];
  /** Browser origins allowed by CORS (e.g. the UI's dev server). No wildcard. */
  allowedOrigins: string[];
  /** Port for incoming BitTorrent connections; 0 picks a free one. */
  torrentPort: number;
  tmdb: { apiKey: string | undefined; readToken: string | undefined; baseUrl: string };
  metadata: {
    /** Look new downloads up on TMDB without being asked (only when a TMDB key or token is set). */
    autoIdentify: boolean;
  };
}

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
  const pick = <T>(key: SettingKey, fallback: () => T): T => {
    const entry = values.get(key);
    sources[key] = entry?.source ?? { kind: 'default' };
    return entry === undefined ? fallback() : (entry.value as T);
  };

  const dataDir = pick('dataDir', () => defaultDataDir(env, platform));
  const config: ChillyConfig = {
    host: pick('host', () => '127.0.0.1'),
    port: pick('port', () => 3000),
    dataDir,
    // The server keeps downloads beside its database unless told otherwise, so one folder holds everything.
    mediaRoot: pick('mediaRoot', () => path.join(dataDir, 'media')),
    network: pick('network', (): NetworkMode => 'public'),
    maxActiveDownloads: pick('maxActiveDownloads', () => 3),
    seeding: { ratio: pick('seeding.ratio', () => 1), minutes: pick('seeding.minutes', () => 60) },
    token: pick('token', (): string | undefined => undefined),
    allowedHosts: pick('allowedHosts', (): string[] => []),
    allowedOrigins: pick('allowedOrigins', (): string[] => []),
    torrentPort: pick('torrentPort', () => 0),
    tmdb: {
      apiKey: pick('tmdb.apiKey', (): string | undefined => undefined),
      readToken: pick('tmdb.readToken', (): string | undefined => undefined),
      baseUrl: pick('tmdb.baseUrl', () => 'https://api.themoviedb.org/3'),
    },
    metadata: { autoIdentify: pick('metadata.autoIdentify', () => true) },
  };
  const overrides = options.overrides ?? {};
  for (const key of Object.keys(overrides)) {
    for (const spec of SETTINGS) {
      if (spec.key === key || spec.key.startsWith(`${key}.`)) sources[spec.key] = { kind: 'override' };
    }
  }
  return { config: { ...config, ...overrides }, sources, file, warnings };
}

/** The configuration as it may be shown: a secret that is set becomes `********`, one that is not, null. */
export function maskedConfig(config: ChillyConfig): Record<string, unknown> {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const spec of SETTINGS) {
    if (!('secret' in spec) || !spec.secret) continue;
    const parts = spec.key.split('.');
    const last = parts.pop() ?? spec.key;
    let holder: Record<string, unknown> | undefined = copy;
    for (const part of parts) holder = holder?.[part] as Record<string, unknown> | undefined;
    // null (not undefined) so that JSON output still lists the key.
    if (holder !== undefined) holder[last] = holder[last] === undefined ? null : '********';
  }
  return copy;
}

/** A setting's value in a ChillyConfig, by dotted key. */
export function settingValue(config: ChillyConfig | Record<string, unknown>, key: SettingKey): unknown {
  let value: unknown = config;
  for (const part of key.split('.')) value = (value as Record<string, unknown> | undefined)?.[part];
  return value;
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
