/**
 * Every default value, written once. The settings catalogue (settings.ts) documents them from
 * here, and the code that works without a configuration (DownloadService, the drivers, the TMDB
 * client, the token checks) falls back to the same constants.
 */
import type { NetworkMode } from '../domain/network-mode.js';
import type { SeedingPolicy } from './chilly-config.js';
import type { EngineKind } from './engine-settings.js';
import type { LogFormat, LogLevel } from './log-settings.js';

export interface Defaults {
  host: string;
  port: number;
  network: NetworkMode;
  /** Downloads at once; the rest wait as `queued`. */
  maxActiveDownloads: number;
  /** A completed job stops uploading at this ratio or after these minutes, whichever comes first. */
  seeding: Readonly<SeedingPolicy>;
  /** 0: the engine picks a free port. */
  torrentPort: number;
  tmdbBaseUrl: string;
  autoIdentify: boolean;
  engine: EngineKind;
  logLevel: LogLevel;
  /** KiB/s for all downloads together; 0: no limit. */
  downloadLimitKiB: number;
  /** KiB/s for all uploads together; 0: no limit. */
  uploadLimitKiB: number;
  logFormat: LogFormat;
  /** qBittorrent's Web UI on this machine, at its own default port. */
  qbittorrentUrl: string;
  /** Transmission's RPC on this machine, at its own default port and path. */
  transmissionUrl: string;
}

export const DEFAULTS: Readonly<Defaults> = Object.freeze({
  host: '127.0.0.1',
  port: 3000,
  network: 'public',
  maxActiveDownloads: 3,
  seeding: Object.freeze({ ratio: 1, minutes: 60 }),
  torrentPort: 0,
  tmdbBaseUrl: 'https://api.themoviedb.org/3',
  autoIdentify: true,
  engine: 'webtorrent',
  logLevel: 'info',
  downloadLimitKiB: 0,
  uploadLimitKiB: 0,
  logFormat: 'auto',
  qbittorrentUrl: 'http://127.0.0.1:8080',
  transmissionUrl: 'http://127.0.0.1:9091/transmission/rpc',
});

/** The downloads folder's name: `<data dir>/media` for the server. */
export const MEDIA_FOLDER_NAME = 'media';

/** Where the library's drivers put downloads when given no `mediaRoot` (relative to the working folder). */
export const DEFAULT_MEDIA_FOLDER = `./${MEDIA_FOLDER_NAME}`;

/** The shortest API token accepted, from the configuration, the token file or a caller. */
export const MIN_TOKEN_LENGTH = 16;
