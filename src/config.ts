/**
 * The one typed configuration, read once (defaults ← environment) and passed down.
 * Nothing else in the backend reads `process.env`.
 */
import path from 'node:path';
import envPaths from 'env-paths';
import { ChillyError } from './domain/errors.js';
import { isNetworkMode, type NetworkMode } from './network.js';

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
}

export type Environment = Readonly<Record<string, string | undefined>>;

const APP_NAME = 'chilly-movies';

export function defaultDataDir(): string {
  return envPaths(APP_NAME, { suffix: '' }).data;
}

function invalid(key: string, value: string, expected: string): never {
  throw new ChillyError('validation_failed', `Invalid ${key}=${JSON.stringify(value)}: expected ${expected}.`);
}

function integer(env: Environment, key: string, fallback: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) invalid(key, raw, `an integer from ${min} to ${max}`);
  return value;
}

function decimal(env: Environment, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) invalid(key, raw, 'a number >= 0');
  return value;
}

function list(env: Environment, key: string): string[] {
  return (env[key] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function nonEmpty(env: Environment, key: string): string | undefined {
  const value = env[key]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** Builds the configuration from the environment (default: `process.env`) and defaults. */
export function loadConfig(env: Environment = process.env, overrides: Partial<ChillyConfig> = {}): ChillyConfig {
  const dataDir = path.resolve(nonEmpty(env, 'CHILLY_DATA_DIR') ?? defaultDataDir());
  const network = nonEmpty(env, 'CHILLY_NETWORK') ?? 'public';
  if (!isNetworkMode(network)) invalid('CHILLY_NETWORK', network, "'public' or 'loopback'");
  const token = nonEmpty(env, 'CHILLY_TOKEN');
  if (token !== undefined && token.length < 16) invalid('CHILLY_TOKEN', '…', 'at least 16 characters');
  const config: ChillyConfig = {
    host: nonEmpty(env, 'CHILLY_HOST') ?? '127.0.0.1',
    port: integer(env, 'CHILLY_PORT', 3000, 0, 65_535),
    dataDir,
    // The server keeps downloads beside its database unless told otherwise, so one folder holds everything.
    mediaRoot: path.resolve(nonEmpty(env, 'CHILLY_MEDIA_ROOT') ?? path.join(dataDir, 'media')),
    network,
    maxActiveDownloads: integer(env, 'CHILLY_MAX_ACTIVE_DOWNLOADS', 3, 1, 100),
    seeding: {
      ratio: decimal(env, 'CHILLY_SEED_RATIO', 1),
      minutes: decimal(env, 'CHILLY_SEED_MINUTES', 60),
    },
    token,
    allowedHosts: list(env, 'CHILLY_ALLOWED_HOSTS'),
    allowedOrigins: list(env, 'CHILLY_ALLOWED_ORIGINS'),
    torrentPort: integer(env, 'CHILLY_TORRENT_PORT', 0, 0, 65_535),
    tmdb: {
      apiKey: nonEmpty(env, 'TMDB_API_KEY'),
      readToken: nonEmpty(env, 'TMDB_READ_TOKEN'),
      baseUrl: nonEmpty(env, 'CHILLY_TMDB_BASE_URL') ?? 'https://api.themoviedb.org/3',
    },
  };
  return { ...config, ...overrides };
}
