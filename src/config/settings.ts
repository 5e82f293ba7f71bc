/**
 * Every setting, once: its key in ChillyConfig and the config file, its environment variable, its
 * flag, its kind of value, its default and its description. File keys, variable and flag names,
 * help texts, masking and the defaults `resolveConfig` falls back to all come from here.
 */
import { DEFAULTS, MEDIA_FOLDER_NAME, MIN_TOKEN_LENGTH } from './defaults.js';
import { DOCUMENTED_FOLDERS } from './user-folders.js';

export type SettingKind =
  | 'string'
  | 'url'
  | 'path'
  | 'integer'
  | 'decimal'
  | 'boolean'
  | 'list'
  | 'network'
  | 'token'
  | 'engine'
  | 'pathMap'
  | 'logLevel'
  | 'logFormat';

/**
 * A fixed value (`note` is said after it in docs), or a rule that `resolveConfig` (or, for the API
 * token, the server) works out from other settings; the rule is said as it is.
 */
export type SettingDefault =
  | { value: string | number | boolean | readonly string[] | undefined; note?: string }
  | { computed: string };

export interface SettingSpec {
  /** Dotted path in ChillyConfig and in the config file (`seeding.ratio` is `{ "seeding": { "ratio": … } }`). */
  key: string;
  env: string;
  /** Long flag name (`port` for `--port`); secrets have none, so they never show up in `ps`. */
  flag: string | undefined;
  kind: SettingKind;
  /** What the flag's value is called in `--help` when its kind does not say (`--on-complete-command <program>`). */
  valueName?: string;
  min?: number;
  max?: number;
  /** Masked wherever the configuration is printed. */
  secret?: boolean;
  default: SettingDefault;
  /** The default as help texts and the README's table say it: `describeDefault(default)`. */
  defaultText: string;
  description: string;
}

/** How docs say a default: the value itself, `—` for none, a list joined by commas. */
export function describeDefault(fallback: SettingDefault): string {
  if ('computed' in fallback) return fallback.computed;
  const { value, note } = fallback;
  let text: string;
  if (typeof value === 'object') text = value.length === 0 ? '—' : value.join(',');
  else text = value === undefined ? '—' : String(value);
  return note === undefined ? text : `${text} (${note})`;
}

function setting<const Spec extends Omit<SettingSpec, 'defaultText'>>(spec: Spec): Spec & { defaultText: string } {
  return { ...spec, defaultText: describeDefault(spec.default) };
}

export const SETTINGS = [
  setting({
    key: 'host',
    env: 'CHILLY_HOST',
    flag: 'host',
    kind: 'string',
    default: { value: DEFAULTS.host },
    description: 'address the API listens on (and the CLI connects to)',
  }),
  setting({
    key: 'port',
    env: 'CHILLY_PORT',
    flag: 'port',
    kind: 'integer',
    min: 0,
    max: 65_535,
    default: { value: DEFAULTS.port },
    description: 'API port',
  }),
  setting({
    key: 'dataDir',
    env: 'CHILLY_DATA_DIR',
    flag: 'data-dir',
    kind: 'path',
    default: { computed: `${DOCUMENTED_FOLDERS.dataDir} (XDG)` },
    description: 'database, API token, caches',
  }),
  setting({
    key: 'mediaRoot',
    env: 'CHILLY_MEDIA_ROOT',
    flag: 'media-root',
    kind: 'path',
    default: { computed: `<data dir>/${MEDIA_FOLDER_NAME}` },
    description: 'downloads, one folder per job',
  }),
  setting({
    key: 'network',
    env: 'CHILLY_NETWORK',
    flag: 'network',
    kind: 'network',
    default: { value: DEFAULTS.network },
    description: '`loopback` turns DHT, local peer discovery, UPnP, NAT-PMP and web seeds off',
  }),
  setting({
    key: 'maxActiveDownloads',
    env: 'CHILLY_MAX_ACTIVE_DOWNLOADS',
    flag: 'max-active-downloads',
    kind: 'integer',
    min: 1,
    max: 100,
    default: { value: DEFAULTS.maxActiveDownloads },
    description: 'downloads at once; the rest wait as `queued`',
  }),
  setting({
    key: 'seeding.ratio',
    env: 'CHILLY_SEED_RATIO',
    flag: 'seed-ratio',
    kind: 'decimal',
    default: { value: DEFAULTS.seeding.ratio },
    description: 'a completed job stops uploading at this ratio (`0`: no seeding)',
  }),
  setting({
    key: 'seeding.minutes',
    env: 'CHILLY_SEED_MINUTES',
    flag: 'seed-minutes',
    kind: 'decimal',
    default: { value: DEFAULTS.seeding.minutes },
    description: '…or after this many minutes (`0`: no seeding)',
  }),
  setting({
    key: 'token',
    env: 'CHILLY_TOKEN',
    flag: undefined,
    kind: 'token',
    secret: true,
    // The server generates it (src/api/token.ts, TOKEN_FILE_NAME); the configuration leaves it unset.
    default: { computed: 'generated into <data dir>/api-token' },
    description: `API token (at least ${MIN_TOKEN_LENGTH} characters) instead of the generated one`,
  }),
  setting({
    key: 'allowedHosts',
    env: 'CHILLY_ALLOWED_HOSTS',
    flag: 'allowed-hosts',
    kind: 'list',
    default: { value: [] },
    description: 'extra `Host` names the API answers for',
  }),
  setting({
    key: 'allowedOrigins',
    env: 'CHILLY_ALLOWED_ORIGINS',
    flag: 'allowed-origins',
    kind: 'list',
    default: { value: [] },
    description: 'browser origins allowed by CORS',
  }),
  setting({
    key: 'torrentPort',
    env: 'CHILLY_TORRENT_PORT',
    flag: 'torrent-port',
    kind: 'integer',
    min: 0,
    max: 65_535,
    default: { value: DEFAULTS.torrentPort, note: 'a free port chosen once, then kept' },
    description: 'port for incoming peer connections',
  }),
  setting({
    key: 'downloadLimit',
    env: 'CHILLY_DOWNLOAD_LIMIT',
    flag: 'download-limit',
    kind: 'integer',
    min: 0,
    max: 10_000_000,
    default: { value: DEFAULTS.downloadLimitKiB },
    description: 'all downloads together at most this many KiB/s (`0`: no limit); `chilly limit` changes it live',
  }),
  setting({
    key: 'uploadLimit',
    env: 'CHILLY_UPLOAD_LIMIT',
    flag: 'upload-limit',
    kind: 'integer',
    min: 0,
    max: 10_000_000,
    default: { value: DEFAULTS.uploadLimitKiB },
    description: 'all uploads together at most this many KiB/s (`0`: no limit)',
  }),
  setting({
    key: 'moveRoots',
    env: 'CHILLY_MOVE_ROOTS',
    flag: 'move-roots',
    kind: 'list',
    default: { value: [] },
    description:
      "folders (besides the media root) a job's data may be moved into (a JSON list in the file, a comma list elsewhere)",
  }),
  setting({
    key: 'libraryDir',
    env: 'CHILLY_LIBRARY_DIR',
    flag: 'library-dir',
    kind: 'path',
    default: { value: undefined },
    description:
      'a library folder for Plex, Jellyfin and Kodi: each finished film as `Title (Year)/Title (Year).ext`, hard-linked (or copied), with subtitles and `movie.nfo`',
  }),
  setting({
    key: 'watchDir',
    env: 'CHILLY_WATCH_DIR',
    flag: 'watch-dir',
    kind: 'path',
    default: { value: undefined },
    description:
      'a folder whose new `.torrent` files are added (then renamed `.added`; a bad one `.invalid`, with `.error.txt`)',
  }),
  setting({
    key: 'onComplete.command',
    env: 'CHILLY_ON_COMPLETE_COMMAND',
    flag: 'on-complete-command',
    kind: 'path',
    valueName: 'program',
    default: { value: undefined },
    description:
      'a program run (no shell, no arguments) when a download completes, the job in `CHILLY_JOB_*` variables',
  }),
  setting({
    key: 'onComplete.webhook',
    env: 'CHILLY_ON_COMPLETE_WEBHOOK',
    flag: 'on-complete-webhook',
    kind: 'url',
    default: { value: undefined },
    description: 'a URL POSTed `{ "event": "completed", "job": … }` when a download completes (retried with backoff)',
  }),
  setting({
    key: 'logLevel',
    env: 'CHILLY_LOG_LEVEL',
    flag: 'log-level',
    kind: 'logLevel',
    default: { value: DEFAULTS.logLevel },
    description: 'the server log: `error`, `warn`, `info` (one line per request) or `debug`; `silent` for none',
  }),
  setting({
    key: 'logFormat',
    env: 'CHILLY_LOG_FORMAT',
    flag: 'log-format',
    kind: 'logFormat',
    default: { value: DEFAULTS.logFormat },
    description:
      '`text` (one readable line per event), `json` (for log collectors), or `auto`: text on a terminal, JSON otherwise',
  }),
  setting({
    key: 'engine',
    env: 'CHILLY_ENGINE',
    flag: 'engine',
    kind: 'engine',
    default: { value: DEFAULTS.engine },
    description: 'what moves the bytes: embedded `webtorrent`, or your `qbittorrent` or `transmission` daemon',
  }),
  setting({
    key: 'qbittorrent.url',
    env: 'CHILLY_QBITTORRENT_URL',
    flag: 'qbittorrent-url',
    kind: 'url',
    default: { value: DEFAULTS.qbittorrentUrl },
    description: "qBittorrent's Web UI address (with `CHILLY_ENGINE=qbittorrent`)",
  }),
  setting({
    key: 'qbittorrent.username',
    env: 'CHILLY_QBITTORRENT_USERNAME',
    flag: 'qbittorrent-username',
    kind: 'string',
    default: { value: undefined },
    description: 'qBittorrent Web UI user name (none when it skips authentication for this address)',
  }),
  setting({
    key: 'qbittorrent.password',
    env: 'CHILLY_QBITTORRENT_PASSWORD',
    flag: undefined,
    kind: 'string',
    secret: true,
    default: { value: undefined },
    description: 'qBittorrent Web UI password',
  }),
  setting({
    key: 'transmission.url',
    env: 'CHILLY_TRANSMISSION_URL',
    flag: 'transmission-url',
    kind: 'url',
    default: { value: DEFAULTS.transmissionUrl },
    description: "Transmission's RPC address (with `CHILLY_ENGINE=transmission`)",
  }),
  setting({
    key: 'transmission.username',
    env: 'CHILLY_TRANSMISSION_USERNAME',
    flag: 'transmission-username',
    kind: 'string',
    default: { value: undefined },
    description: 'Transmission RPC user name (none when it requires no authentication)',
  }),
  setting({
    key: 'transmission.password',
    env: 'CHILLY_TRANSMISSION_PASSWORD',
    flag: undefined,
    kind: 'string',
    secret: true,
    default: { value: undefined },
    description: 'Transmission RPC password',
  }),
  setting({
    key: 'enginePathMap',
    env: 'CHILLY_ENGINE_PATH_MAP',
    flag: 'engine-path-map',
    kind: 'pathMap',
    default: { value: undefined },
    description:
      "`/engine/folder=/this/machine/folder`: where the engine's download folder is readable here (turns on playing finished films and the library)",
  }),
  setting({
    key: 'tmdb.apiKey',
    env: 'TMDB_API_KEY',
    flag: undefined,
    kind: 'string',
    secret: true,
    default: { value: undefined },
    description: 'TMDB API key (v3), for movie search and details',
  }),
  setting({
    key: 'tmdb.readToken',
    env: 'TMDB_READ_TOKEN',
    flag: undefined,
    kind: 'string',
    secret: true,
    default: { value: undefined },
    description: 'TMDB API read access token (v4), instead of the key',
  }),
  setting({
    key: 'tmdb.baseUrl',
    env: 'CHILLY_TMDB_BASE_URL',
    flag: 'tmdb-base-url',
    kind: 'url',
    default: { value: DEFAULTS.tmdbBaseUrl },
    description: 'TMDB API address (tests point it at a fake)',
  }),
  setting({
    key: 'metadata.autoIdentify',
    env: 'CHILLY_METADATA_AUTO_IDENTIFY',
    flag: 'auto-identify',
    kind: 'boolean',
    default: { value: DEFAULTS.autoIdentify },
    description: 'look new downloads up on TMDB by themselves (needs a TMDB key or token)',
  }),
] as const satisfies readonly SettingSpec[];

export type SettingKey = (typeof SETTINGS)[number]['key'];
