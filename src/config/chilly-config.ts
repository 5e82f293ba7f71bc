/** The one typed configuration: what `resolveConfig` builds and the rest of the backend is handed. */
import type { NetworkMode } from '../domain/network-mode.js';
import type { EngineEndpoint, EngineKind, EnginePathMap } from './engine-settings.js';
import type { LogFormat, LogLevel } from './log-settings.js';

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
  /** What moves the bytes: the embedded WebTorrent, or a qBittorrent or Transmission daemon. */
  engine: EngineKind;
  qbittorrent: EngineEndpoint;
  transmission: EngineEndpoint;
  /** Where the engine's download folder is readable on this machine (external engines only). */
  enginePathMap: EnginePathMap | undefined;
  /** KiB/s for all downloads together (0: no limit), until changed while the server runs. */
  downloadLimit: number;
  /** KiB/s for all uploads together (0: no limit). */
  uploadLimit: number;
  /** Folders besides the media root that a job's data may be moved into (absolute paths). */
  moveRoots: string[];
  /** The library folder media servers read (src/service/library-placer.ts); undefined: off. */
  libraryDir: string | undefined;
  /** A folder whose new .torrent files are added (src/service/watch-folder.ts). */
  watchDir: string | undefined;
  /** What runs when a download completes (src/hooks/completion-hooks.ts). */
  onComplete: { command: string | undefined; webhook: string | undefined };
  logLevel: LogLevel;
  logFormat: LogFormat;
}
