// The package's public surface. Names from the seed README stay as they are.

export { type CreateServerOptions, createServer } from './api/create-server.js';
export { loadOrCreateToken } from './api/token.js';
export { isLoopbackHost, type RunningServer, type StartServerOptions, startServer } from './app.js';
export type { ChillyConfig } from './config/chilly-config.js';
export { ConfigError } from './config/config-error.js';
export { loadConfig, type ResolvedConfig, resolveConfig } from './config/resolve-config.js';
export { SETTINGS } from './config/settings.js';
export { ChillyError, ERROR_CATALOGUE, type ErrorCode, isChillyError } from './domain/errors.js';
export type { JobMovie } from './domain/job.js';
export {
  JOB_STATUSES,
  type Job,
  type JobError,
  type JobFile,
  type JobInput,
  type JobProgress,
  type JobStatus,
  type SourceType,
} from './domain/job.js';
export { JOB_EVENT_TYPES, type JobEvent, type JobEventType } from './domain/job-event.js';
export { NETWORK_MODES, type NetworkMode } from './domain/network-mode.js';
export type {
  CancelOptions,
  Downloader,
  DownloaderEventName,
  DownloaderEvents,
  ResumeState,
  StartOptions,
} from './downloaders/downloader.js';
export { downloaderFromConfig, engineFromConfig } from './downloaders/engine-from-config.js';
export { HttpDownloader, type HttpDownloaderOptions } from './downloaders/http/http-downloader.js';
export { MockDownloader, type MockDownloaderOptions } from './downloaders/mock-downloader.js';
export { QBittorrentAdapter } from './downloaders/qbittorrent/qbittorrent-adapter.js';
export type {
  EngineAdapter,
  EngineAddRequest,
  EngineFile,
  EngineSync,
  EngineTorrent,
} from './downloaders/remote/engine-adapter.js';
export {
  RemoteEngineDownloader,
  type RemoteEngineDownloaderOptions,
} from './downloaders/remote/remote-engine-downloader.js';
export { SourceRouter } from './downloaders/source-router.js';
export { TransmissionAdapter } from './downloaders/transmission/transmission-adapter.js';
export {
  WebTorrentDownloader,
  type WebTorrentDownloaderOptions,
} from './downloaders/webtorrent/webtorrent-downloader.js';
export { checkEngine } from './engine/check-engine.js';
export type { EngineCheck, EngineReport } from './engine/engine-report.js';
export { CachedMetadataFetcher } from './metadata/cached-metadata-fetcher.js';
export type {
  MetadataFetcher,
  MovieDetails,
  MovieSearchPage,
  MovieSummary,
} from './metadata/metadata-fetcher.js';
export { createMetadataService, type IdentifyResult, MetadataService } from './metadata/metadata-service.js';
export { MockMetadataFetcher } from './metadata/mock-metadata-fetcher.js';
export { PosterCache } from './metadata/poster-cache.js';
export { type ParsedReleaseName, parseReleaseName } from './metadata/release-name.js';
export { TmdbClient } from './metadata/tmdb-client.js';
export { AbortRetryError, computeBackoffDelay, parseRetryAfter, type RetryOptions, retry } from './retry.js';
export { DownloadService, type DownloadServiceOptions } from './service/download-service.js';
export type {
  AddJobRequest,
  AddJobResult,
  DownloadServiceApi,
  JobPage,
  ListJobsQuery,
} from './service/download-service-api.js';
export { MovieLinker } from './service/movie-linker.js';
export { openDatabase } from './storage/database.js';
