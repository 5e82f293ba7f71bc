/**
 * The one typed configuration, read once and passed down. Layers, later ones winning:
 * defaults ← config file (JSON) ← environment (`CHILLY_*`, `TMDB_*`) ← command-line flags.
 * Nothing else in the backend reads `process.env`: callers hand their environment in.
 */
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChillyError } from './domain/errors.js';
import { isNetworkMode, NETWORK_MODES, type NetworkMode } from './network.js';

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

export type Environment = Readonly<Record<string, string | undefined>>;

const APP_NAME = 'chilly-movies';
export const CONFIG_FILE_NAME = 'config.json';

type SettingKind = 'string' | 'url' | 'path' | 'integer' | 'decimal' | 'boolean' | 'list' | 'network' | 'token';

export interface SettingSpec {
  /** Dotted path in ChillyConfig and in the config file (`seeding.ratio` is `{ "seeding": { "ratio": … } }`). */
  key: string;
  env: string;
  /** Long flag name (`port` for `--port`); secrets have none, so they never show up in `ps`. */
  flag: string | undefined;
  kind: SettingKind;
  min?: number;
  max?: number;
  /** Masked wherever the configuration is printed. */
  secret?: boolean;
  /** For help texts and the README's table. */
  defaultText: string;
  description: string;
}

/** Every setting, once: the file keys, environment names, flags, docs and masking all come from here. */
export const SETTINGS = [
  {
    key: 'host',
    env: 'CHILLY_HOST',
    flag: 'host',
    kind: 'string',
    defaultText: '127.0.0.1',
    description: 'address the API listens on (and the CLI connects to)',
  },
  {
    key: 'port',
    env: 'CHILLY_PORT',
    flag: 'port',
    kind: 'integer',
    min: 0,
    max: 65_535,
    defaultText: '3000',
    description: 'API port',
  },
  {
    key: 'dataDir',
    env: 'CHILLY_DATA_DIR',
    flag: 'data-dir',
    kind: 'path',
    defaultText: '~/.local/share/chilly-movies (XDG)',
    description: 'database, API token, caches',
  },
  {
    key: 'mediaRoot',
    env: 'CHILLY_MEDIA_ROOT',
    flag: 'media-root',
    kind: 'path',
    defaultText: '<data dir>/media',
    description: 'downloads, one folder per job',
  },
  {
    key: 'network',
    env: 'CHILLY_NETWORK',
    flag: 'network',
    kind: 'network',
    defaultText: 'public',
    description: '`loopback` turns DHT, local peer discovery, UPnP, NAT-PMP and web seeds off',
  },
  {
    key: 'maxActiveDownloads',
    env: 'CHILLY_MAX_ACTIVE_DOWNLOADS',
    flag: 'max-active-downloads',
    kind: 'integer',
    min: 1,
    max: 100,
    defaultText: '3',
    description: 'downloads at once; the rest wait as `queued`',
  },
  {
    key: 'seeding.ratio',
    env: 'CHILLY_SEED_RATIO',
    flag: 'seed-ratio',
    kind: 'decimal',
    defaultText: '1',
    description: 'a completed job stops uploading at this ratio (`0`: no seeding)',
  },
  {
    key: 'seeding.minutes',
    env: 'CHILLY_SEED_MINUTES',
    flag: 'seed-minutes',
    kind: 'decimal',
    defaultText: '60',
    description: '…or after this many minutes (`0`: no seeding)',
  },
  {
    key: 'token',
    env: 'CHILLY_TOKEN',
    flag: undefined,
    kind: 'token',
    secret: true,
    defaultText: 'generated into <data dir>/api-token',
    description: 'API token (at least 16 characters) instead of the generated one',
  },
  {
    key: 'allowedHosts',
    env: 'CHILLY_ALLOWED_HOSTS',
    flag: 'allowed-hosts',
    kind: 'list',
    defaultText: '—',
    description: 'extra `Host` names the API answers for',
  },
  {
    key: 'allowedOrigins',
    env: 'CHILLY_ALLOWED_ORIGINS',
    flag: 'allowed-origins',
    kind: 'list',
    defaultText: '—',
    description: 'browser origins allowed by CORS',
  },
  {
    key: 'torrentPort',
    env: 'CHILLY_TORRENT_PORT',
    flag: 'torrent-port',
    kind: 'integer',
    min: 0,
    max: 65_535,
    defaultText: '0 (random)',
    description: 'port for incoming peer connections',
  },
  {
    key: 'tmdb.apiKey',
    env: 'TMDB_API_KEY',
    flag: undefined,
    kind: 'string',
    secret: true,
    defaultText: '—',
    description: 'TMDB API key (v3), for movie search and details',
  },
  {
    key: 'tmdb.readToken',
    env: 'TMDB_READ_TOKEN',
    flag: undefined,
    kind: 'string',
    secret: true,
    defaultText: '—',
    description: 'TMDB API read access token (v4), instead of the key',
  },
  {
    key: 'tmdb.baseUrl',
    env: 'CHILLY_TMDB_BASE_URL',
    flag: 'tmdb-base-url',
    kind: 'url',
    defaultText: 'https://api.themoviedb.org/3',
    description: 'TMDB API address (tests point it at a fake)',
  },
  {
    key: 'metadata.autoIdentify',
    env: 'CHILLY_METADATA_AUTO_IDENTIFY',
    flag: 'auto-identify',
    kind: 'boolean',
    defaultText: 'true',
    description: 'look new downloads up on TMDB by themselves (needs a TMDB key or token)',
  },
] as const satisfies readonly SettingSpec[];

export type SettingKey = (typeof SETTINGS)[number]['key'];

/** Where a setting's value came from, for `chilly config` and for error messages. */
export type ConfigSource =
  | { kind: 'default' }
  | { kind: 'file'; file: string }
  | { kind: 'env'; name: string }
  | { kind: 'flag'; name: string }
  | { kind: 'override' };

export function describeSource(source: ConfigSource): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'file':
      return `config file ${source.file}`;
    case 'env':
      return `environment ${source.name}`;
    case 'flag':
      return `flag --${source.name}`;
    case 'override':
      return 'set by the caller';
  }
}

/** A setting that cannot be used, naming the key and where it came from. */
export class ConfigError extends ChillyError {
  readonly source: ConfigSource['kind'];

  constructor(source: ConfigSource['kind'], message: string, options?: { cause?: unknown }) {
    super('validation_failed', message, options);
    this.source = source;
  }
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

export interface ConfigFileInfo {
  path: string;
  /** Who named it: `--config`, `CHILLY_CONFIG`, or the default location. */
  origin: 'flag' | 'env' | 'default';
  /** false when the default location holds no file (which is fine). */
  loaded: boolean;
}

export interface ResolvedConfig {
  config: ChillyConfig;
  sources: Record<SettingKey, ConfigSource>;
  file: ConfigFileInfo | undefined;
  /** Things worth telling the user that are not errors (e.g. a likely typo in a variable name). */
  warnings: string[];
}

interface AppPaths {
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
    values.set(spec.key, { value: fromText(spec, raw, source, cwd), source });
  }
  warnings.push(...unknownVariableWarnings(env));

  for (const spec of SETTINGS) {
    const raw = options.flags?.[spec.key];
    if (raw === undefined || spec.flag === undefined) continue;
    const source: ConfigSource = { kind: 'flag', name: spec.flag };
    values.set(spec.key, { value: fromText(spec, raw, source, cwd), source });
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

function locateConfigFile(
  explicit: string | false | undefined,
  env: Environment,
  cwd: string,
  platform: NodeJS.Platform,
): ConfigFileInfo | undefined {
  if (explicit === false) return undefined;
  if (explicit !== undefined)
    return { path: path.resolve(cwd, expandHome(explicit, env)), origin: 'flag', loaded: false };
  const fromEnv = nonEmptyString(env.CHILLY_CONFIG);
  if (fromEnv !== undefined) return { path: path.resolve(cwd, expandHome(fromEnv, env)), origin: 'env', loaded: false };
  return { path: defaultConfigFile(env, platform), origin: 'default', loaded: false };
}

/** The file's text; undefined when the default location has no file. A named file must exist. */
function readConfigFile(file: ConfigFileInfo): string | undefined {
  try {
    return readFileSync(file.path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && file.origin === 'default') return undefined;
    const namedBy = file.origin === 'flag' ? '--config' : 'CHILLY_CONFIG';
    const source = file.origin === 'flag' ? 'flag' : 'env';
    const reason = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(cause)})`;
    throw new ConfigError(source, `Config file ${file.path} (named by ${namedBy}) ${reason}.`, { cause });
  }
}

const GROUPS = new Set(SETTINGS.filter((s) => s.key.includes('.')).map((s) => s.key.split('.')[0] ?? ''));

/** Checks the file's JSON against SETTINGS: every key known, every value of the right type. */
function parseConfigFile(text: string, file: string, env: Environment): Array<[SettingKey, unknown]> {
  const fail = (message: string, cause?: unknown): never => {
    throw new ConfigError('file', `Invalid config file ${file}: ${message}`, { cause });
  };
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    fail(`not valid JSON (${cause instanceof Error ? cause.message : String(cause)}).`, cause);
  }
  if (!isPlainObject(document)) return fail('expected a JSON object such as { "port": 3000 }.');
  const entries: Array<[SettingKey, unknown]> = [];
  const visit = (object: Record<string, unknown>, prefix: string): void => {
    for (const [name, value] of Object.entries(object)) {
      const key = `${prefix}${name}`;
      if (prefix === '' && name === '$schema') continue;
      if (prefix === '' && GROUPS.has(name)) {
        if (!isPlainObject(value)) fail(`"${key}" must be an object with ${groupKeys(name)}.`);
        visit(value as Record<string, unknown>, `${key}.`);
        continue;
      }
      const spec = SETTINGS.find((s) => s.key === key);
      if (spec === undefined) {
        const known = SETTINGS.map((s) => s.key);
        const hint = closest(key, known);
        fail(
          `unknown key "${key}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}. Known keys: ${known.join(', ')}.`,
        );
        return;
      }
      entries.push([spec.key, fromJson(spec, value, file, env)]);
    }
  };
  visit(document, '');
  return entries;
}

function groupKeys(group: string): string {
  return SETTINGS.filter((s) => s.key.startsWith(`${group}.`))
    .map((s) => `"${s.key.slice(group.length + 1)}"`)
    .join(', ');
}

function expected(spec: SettingSpec): string {
  switch (spec.kind) {
    case 'integer':
      return `an integer from ${spec.min} to ${spec.max}`;
    case 'decimal':
      return 'a number >= 0';
    case 'boolean':
      return 'true or false';
    case 'network':
      return NETWORK_MODES.map((mode) => `"${mode}"`).join(' or ');
    case 'list':
      return 'a list of names';
    case 'url':
      return 'an http(s) URL';
    case 'token':
      return 'a string of at least 16 characters';
    default:
      return 'a non-empty string';
  }
}

/** Checks one value for one setting; `wrong` throws the source's own message. */
function check(spec: SettingSpec, value: unknown, wrong: (what: string) => never): unknown {
  switch (spec.kind) {
    case 'integer': {
      const ok = typeof value === 'number' && Number.isInteger(value) && value >= (spec.min ?? 0);
      return ok && value <= (spec.max ?? Number.MAX_SAFE_INTEGER) ? value : wrong(expected(spec));
    }
    case 'decimal':
      return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : wrong(expected(spec));
    case 'boolean':
      return typeof value === 'boolean' ? value : wrong(expected(spec));
    case 'network':
      return isNetworkMode(value) ? value : wrong(expected(spec));
    case 'list':
      return Array.isArray(value) && value.every((item) => typeof item === 'string' && item.trim() !== '')
        ? value.map((item: string) => item.trim())
        : wrong(expected(spec));
    case 'url': {
      if (typeof value !== 'string') return wrong(expected(spec));
      let url: URL | undefined;
      try {
        url = new URL(value);
      } catch {
        url = undefined;
      }
      return url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:')
        ? value.replace(/\/+$/, '')
        : wrong(expected(spec));
    }
    case 'token':
      return typeof value === 'string' && value.trim().length >= 16 ? value.trim() : wrong(expected(spec));
    default:
      return typeof value === 'string' && value.trim() !== '' ? value.trim() : wrong(expected(spec));
  }
}

/** How on/off is written in variables and flags. */
const TEXT_BOOLEANS: Readonly<Record<string, boolean>> = {
  true: true,
  false: false,
  '1': true,
  '0': false,
  yes: true,
  no: false,
  on: true,
  off: false,
};

/** A value from the environment or a flag: text, converted to the setting's type. */
function fromText(spec: SettingSpec, raw: string, source: ConfigSource, cwd: string): unknown {
  const shown = spec.secret ? '…' : raw;
  const wrong = (what: string): never => {
    const where = source.kind === 'env' ? `${spec.env}=${JSON.stringify(shown)} (environment)` : '';
    const label = source.kind === 'flag' ? `--${spec.flag} ${JSON.stringify(shown)}` : where;
    throw new ConfigError(source.kind, `Invalid ${label}: expected ${what}.`);
  };
  let value: unknown = raw.trim();
  if (spec.kind === 'integer' || spec.kind === 'decimal') value = raw.trim() === '' ? Number.NaN : Number(raw);
  if (spec.kind === 'list') value = raw.split(',').filter((item) => item.trim() !== '');
  if (spec.kind === 'boolean') value = TEXT_BOOLEANS[raw.trim().toLowerCase()] ?? raw;
  const checked = check(spec, value, wrong);
  return spec.kind === 'path' ? path.resolve(cwd, checked as string) : checked;
}

/** A value from the config file: JSON, which must already have the right type. Paths are relative to the file. */
function fromJson(spec: SettingSpec, value: unknown, file: string, env: Environment): unknown {
  const wrong = (what: string): never => {
    const shown = spec.secret ? '"…"' : JSON.stringify(value);
    throw new ConfigError('file', `Invalid config file ${file}: "${spec.key}" must be ${what} (got ${shown}).`);
  };
  const checked = check(spec, value, wrong);
  return spec.kind === 'path' ? path.resolve(path.dirname(file), expandHome(checked as string, env)) : checked;
}

function expandHome(value: string, env: Environment): string {
  if (!value.startsWith('~/')) return value;
  return path.join(nonEmptyString(env.HOME) ?? os.homedir(), value.slice(2));
}

const KNOWN_VARIABLES = [...SETTINGS.map((s) => s.env), 'CHILLY_CONFIG'];

/** Variables one or two typos away from a known name are almost certainly meant as it. */
function unknownVariableWarnings(env: Environment): string[] {
  const warnings: string[] = [];
  for (const name of Object.keys(env)) {
    if (!/^(CHILLY|TMDB)_/.test(name) || KNOWN_VARIABLES.includes(name)) continue;
    const hint = closest(name, KNOWN_VARIABLES);
    if (hint !== undefined) warnings.push(`Ignoring the environment variable ${name}: did you mean ${hint}?`);
  }
  return warnings;
}

function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function readableByOthers(file: string): boolean {
  try {
    return (statSync(file).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
