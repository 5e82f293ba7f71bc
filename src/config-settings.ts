/**
 * Every setting, once (SETTINGS): its key in ChillyConfig and the config file, its environment
 * variable, its flag, its docs and whether it is secret; and how a value of each kind is checked,
 * whether it comes as text (environment, flags) or as JSON (the config file).
 */
import path from 'node:path';
import { type Environment, expandHome } from './config-paths.js';
import { ChillyError } from './domain/errors.js';
import { isNetworkMode, NETWORK_MODES } from './network.js';

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
export function settingFromText(spec: SettingSpec, raw: string, source: ConfigSource, cwd: string): unknown {
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
export function settingFromJson(spec: SettingSpec, value: unknown, file: string, env: Environment): unknown {
  const wrong = (what: string): never => {
    const shown = spec.secret ? '"…"' : JSON.stringify(value);
    throw new ConfigError('file', `Invalid config file ${file}: "${spec.key}" must be ${what} (got ${shown}).`);
  };
  const checked = check(spec, value, wrong);
  return spec.kind === 'path' ? path.resolve(path.dirname(file), expandHome(checked as string, env)) : checked;
}

/** The candidate one or two typos away from `name`, if any (for "did you mean" hints). */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
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
