/**
 * `chilly doctor`: checks what downloads need, one line each (✓ fine, ! worth knowing, ✗ broken),
 * with a hint for what to do. Exits 1 when something is broken.
 */
import { randomBytes } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { DATABASE_FILE_NAME } from '../../app.js';
import type { ChillyConfig } from '../../config/chilly-config.js';
import { ConfigError } from '../../config/config-error.js';
import { toLocalPath } from '../../config/engine-settings.js';
import { MARKER_FILE } from '../../disk/media-root.js';
import { ChillyError } from '../../domain/errors.js';
import { freeBytes } from '../../downloaders/disk-space.js';
import { engineAdapterFor } from '../../downloaders/engine-from-config.js';
import { TORRENT_PORT_FILE } from '../../storage/torrent-port-file.js';
import { mediaToolsVersion } from '../../subtitles/embedded-tracks.js';
import { ApiError, CliApi, clientBaseUrl, readClientToken, tokenFilePath } from '../api.js';
import type { CommandContext } from '../context.js';
import { formatBytes } from '../format.js';
import { CliError, EXIT, printJson, println } from '../io.js';

export type CheckLevel = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  check: string;
  level: CheckLevel;
  detail: string;
  hint?: string;
}

/** Below this, a single film will not fit. */
const LOW_DISK_BYTES = 2 * 1024 ** 3;

export async function runDoctor(ctx: CommandContext): Promise<number> {
  const results: CheckResult[] = [];
  results.push(checkNode());
  let config: ChillyConfig | undefined;
  try {
    const { config: resolved, file } = ctx.resolved();
    config = resolved;
    results.push({
      check: 'config',
      level: 'ok',
      detail:
        file?.loaded === true ? `read ${file.path}` : `defaults and environment (no file at ${file?.path ?? '-'})`,
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    results.push({ check: 'config', level: 'fail', detail: error.message, hint: 'fix the setting it names' });
  }
  if (config !== undefined) {
    results.push(
      await checkFolder('data folder', config.dataDir, 'set CHILLY_DATA_DIR (or --data-dir) to a folder you own'),
    );
    results.push(
      await checkFolder(
        'media folder',
        config.mediaRoot,
        'set CHILLY_MEDIA_ROOT (or --media-root) to a writable folder',
      ),
    );
    results.push(await checkMediaRoot(config));
    results.push(checkDisk(config));
    const server = await checkServer(config);
    results.push(server);
    if (config.engine === 'webtorrent') results.push(await checkTorrentPort(config, server.level === 'ok'));
    results.push(config.engine === 'webtorrent' ? await checkEngine() : await checkExternalEngine(config));
    results.push(await checkDatabase());
    results.push(checkNetwork(config));
    results.push(checkTmdb(config));
    results.push(await checkMediaTools());
  }

  if (ctx.json) {
    printJson(ctx.io.stdout, results);
  } else {
    const { style } = ctx;
    const mark = { ok: style.green('✓'), warn: style.yellow('!'), fail: style.red('✗') };
    for (const result of results) {
      const hint = result.hint === undefined ? '' : style.dim(` → ${result.hint}`);
      println(ctx.io.stdout, `${mark[result.level]} ${result.check}: ${result.detail}${hint}`);
    }
  }
  const failed = results.filter((result) => result.level === 'fail').length;
  if (failed > 0) throw new CliError(`${failed} check${failed === 1 ? '' : 's'} failed.`);
  return EXIT.ok;
}

function checkNode(): CheckResult {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= 20
    ? { check: 'node', level: 'ok', detail: `Node ${process.versions.node}` }
    : { check: 'node', level: 'fail', detail: `Node ${process.versions.node}`, hint: 'install Node 20 or newer' };
}

/** Writable if it exists (a file is really written), or creatable if its nearest existing parent is writable. */
async function checkFolder(check: string, dir: string, hint: string): Promise<CheckResult> {
  let existing = dir;
  while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  try {
    if (existing === dir) {
      const probe = path.join(dir, `.chilly-doctor-${randomBytes(4).toString('hex')}`);
      await writeFile(probe, 'ok');
      await rm(probe, { force: true });
      return { check, level: 'ok', detail: `${dir} is writable` };
    }
    await access(existing, constants.W_OK);
    return { check, level: 'ok', detail: `${dir} will be created (in ${existing}, which is writable)` };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    return { check, level: 'fail', detail: `cannot write in ${existing} (${code})`, hint };
  }
}

/**
 * The media folder is ours (it has the marker the server writes) when jobs have data there; a
 * missing folder or an empty mount point (no marker) with such jobs means the disk is not mounted.
 */
async function checkMediaRoot(config: ChillyConfig): Promise<CheckResult> {
  const check = 'media disk';
  const marked = existsSync(path.join(config.mediaRoot, MARKER_FILE));
  const withData = await jobsWithData(config);
  if (marked) return { check, level: 'ok', detail: `${config.mediaRoot} is in place` };
  if (withData === 0 || withData === undefined) {
    return {
      check,
      level: 'ok',
      detail: existsSync(config.mediaRoot)
        ? `${config.mediaRoot} (no download has used it yet)`
        : `${config.mediaRoot} will be created at the first download`,
    };
  }
  const missing = existsSync(config.mediaRoot) ? 'has lost its marker (an empty mount point?)' : 'is missing';
  return {
    check,
    level: 'fail',
    detail: `${config.mediaRoot} ${missing}, and ${withData} download${withData === 1 ? ' has' : 's have'} data there`,
    hint: 'mount the disk that holds it (downloads stop with path_missing until then), or set CHILLY_MEDIA_ROOT',
  };
}

/**
 * Jobs that wrote data into their folders in the media folder, from the database (read-only);
 * undefined when there is none. The server checks the same (DownloadService.checkMediaRoot).
 */
async function jobsWithData(config: ChillyConfig): Promise<number | undefined> {
  const file = path.join(config.dataDir, DATABASE_FILE_NAME);
  if (!existsSync(file)) return undefined;
  try {
    const { default: Database } = await import('better-sqlite3');
    const database = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const row = database
        .prepare(
          `SELECT COUNT(*) AS n FROM jobs WHERE (folder_created = 1 OR bytes_done > 0 OR created_paths_json <> '[]')${
            // An external engine keeps its torrents in its own folder: only direct downloads are here.
            config.engine === 'webtorrent' ? '' : " AND source_type = 'http'"
          }`,
        )
        .get() as { n: number } | undefined;
      return row?.n;
    } finally {
      database.close();
    }
  } catch {
    return undefined;
  }
}

function checkDisk(config: ChillyConfig): CheckResult {
  // With an external engine, torrents go to the engine's own folder (its check says where): the
  // media folder holds direct downloads only.
  const what = config.engine === 'webtorrent' ? 'downloads' : `direct downloads (torrents: the engine's own folder)`;
  try {
    const free = freeBytes(config.mediaRoot);
    return free >= LOW_DISK_BYTES
      ? { check: 'disk space', level: 'ok', detail: `${formatBytes(free)} free for ${what}` }
      : {
          check: 'disk space',
          level: 'fail',
          detail: `only ${formatBytes(free)} free for ${what}`,
          hint: 'free some space, or point CHILLY_MEDIA_ROOT at a bigger disk',
        };
  } catch (error) {
    return { check: 'disk space', level: 'fail', detail: `cannot tell (${(error as Error).message})` };
  }
}

async function checkServer(config: ChillyConfig): Promise<CheckResult> {
  const baseUrl = clientBaseUrl(config);
  const check = 'server';
  try {
    const health = await new CliApi({ baseUrl, token: undefined, timeoutMs: 2_000 }).health();
    const token = await readClientToken(config);
    if (token === undefined) {
      return {
        check,
        level: 'fail',
        detail: `a server answers at ${baseUrl}, but there is no token at ${tokenFilePath(config)}`,
        hint: 'it uses another data folder: pass the same --data-dir, or set CHILLY_TOKEN',
      };
    }
    const api = new CliApi({ baseUrl, token: token.token, timeoutMs: 2_000 });
    await api.call(api.client.GET('/downloads', { params: { query: { limit: 1 } } }));
    return {
      check,
      level: 'ok',
      detail: `running at ${baseUrl} (${health.activeDownloads} active, ${health.queued} queued); the token works`,
    };
  } catch (error) {
    if (error instanceof ApiError && error.code === 'unauthorized') {
      return {
        check,
        level: 'fail',
        detail: `the server at ${baseUrl} rejects the token`,
        hint: 'it uses another data folder: pass the same --data-dir, or set CHILLY_TOKEN',
      };
    }
    if (error instanceof CliError && error.code === 'server_unreachable') return checkPortFree(config);
    return {
      check,
      level: 'fail',
      detail: error instanceof Error ? error.message : String(error),
      hint: 'another program may use this port: set CHILLY_PORT (or --port)',
    };
  }
}

async function checkPortFree(config: ChillyConfig): Promise<CheckResult> {
  const check = 'port';
  if (config.port === 0) {
    return { check, level: 'ok', detail: 'port 0: the server picks a free port (not running now)' };
  }
  const problem = await new Promise<string | undefined>((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen({ host: config.host, port: config.port, exclusive: true }, () => {
      server.close(() => resolve(undefined));
    });
  });
  if (problem === undefined) {
    return {
      check,
      level: 'ok',
      detail: `${config.host}:${config.port} is free (the server is not running)`,
      hint: 'start it with `chilly serve`',
    };
  }
  return {
    check,
    level: 'fail',
    detail: `cannot listen on ${config.host}:${config.port} (${problem})`,
    hint:
      problem === 'EADDRINUSE'
        ? 'another program uses this port: set CHILLY_PORT (or --port)'
        : 'choose another address or port',
  };
}

/**
 * The port peers connect to: with the server running, it must accept connections here (the
 * first thing to check when nobody uploads to you; a router or firewall may still block it from
 * outside, which only a peer out there can tell).
 */
async function checkTorrentPort(config: ChillyConfig, serverRunning: boolean): Promise<CheckResult> {
  const check = 'torrent port';
  const port =
    config.torrentPort !== 0
      ? config.torrentPort
      : Number((await readFile(path.join(config.dataDir, TORRENT_PORT_FILE), 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(port) || port <= 0) {
    return { check, level: 'ok', detail: 'chosen at the first start, then kept (or set CHILLY_TORRENT_PORT)' };
  }
  if (!serverRunning) return { check, level: 'ok', detail: `${port} (checked while the server runs)` };
  const accepting = await new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
  return accepting
    ? { check, level: 'ok', detail: `${port}: bound and accepting connections on this machine` }
    : {
        check,
        level: 'fail',
        detail: `${port}: nothing accepts connections there, though the server runs`,
        hint: 'another program may hold it: set CHILLY_TORRENT_PORT to a free port',
      };
}

/** Loads the engine and runs its patch checks (src/engine/engine-patches.ts). */
async function checkEngine(): Promise<CheckResult> {
  try {
    const { checkEngine: runEngineChecks } = await import('../../engine/check-engine.js');
    const report = await runEngineChecks();
    const patches = report.checks.filter((check) => check.kind === 'patch').length;
    const from = report.bundled ? 'bundled' : 'from node_modules';
    if (report.ok) {
      return {
        check: 'engine',
        level: 'ok',
        detail: `${report.engine} (${from}) with all ${patches} patches and ${report.checks.length - patches} pins`,
      };
    }
    const failed = report.checks.filter((check) => !check.ok);
    return {
      check: 'engine',
      level: 'fail',
      detail: `${report.engine} (${from}) lacks ${failed.map((check) => `${check.name} (${check.problem})`).join(', ')}`,
      hint: report.bundled ? 'reinstall chilly-movies' : 'run `npm install` again (it applies patches/*.patch)',
    };
  } catch (error) {
    return {
      check: 'engine',
      level: 'fail',
      detail: `the engine does not load (${(error as Error).message})`,
      hint: 'run `npm install` again',
    };
  }
}

/**
 * An external engine (CHILLY_ENGINE=qbittorrent|transmission): it answers, takes the credentials,
 * and says where it saves; whether its download folder is readable here (CHILLY_ENGINE_PATH_MAP).
 */
async function checkExternalEngine(config: ChillyConfig): Promise<CheckResult> {
  const adapter = engineAdapterFor(config);
  if (adapter === undefined) return checkEngine();
  const endpoint = config.engine === 'qbittorrent' ? config.qbittorrent : config.transmission;
  const variable = config.engine === 'qbittorrent' ? 'CHILLY_QBITTORRENT' : 'CHILLY_TRANSMISSION';
  const check = `engine (${adapter.engineName})`;
  try {
    await adapter.connect();
    const version = await adapter.version();
    const savePath = await adapter.defaultSavePath();
    const mapped = config.enginePathMap === undefined ? undefined : toLocalPath(config.enginePathMap, savePath);
    const where =
      mapped === undefined
        ? `saves to ${savePath} (not readable here: playing finished films and the library are off)`
        : `saves to ${savePath}, read here as ${mapped}`;
    return {
      check,
      level: mapped === undefined || existsSync(mapped) ? 'ok' : 'warn',
      detail: `${adapter.engineName} ${version} at ${endpoint.url}; ${where}`,
      ...(mapped !== undefined && !existsSync(mapped)
        ? { hint: `${mapped} does not exist: check CHILLY_ENGINE_PATH_MAP and the mount` }
        : {}),
    };
  } catch (error) {
    const code = error instanceof ChillyError ? error.code : 'engine_unreachable';
    const message = error instanceof Error ? error.message : String(error);
    return {
      check,
      level: 'fail',
      detail: `${endpoint.url}: ${message}`,
      hint:
        code === 'engine_auth_failed'
          ? `check ${variable}_USERNAME and ${variable}_PASSWORD`
          : `is ${adapter.engineName} running, with its web API on? check ${variable}_URL`,
    };
  } finally {
    await adapter.close().catch(() => undefined);
  }
}

async function checkDatabase(): Promise<CheckResult> {
  try {
    const { default: Database } = await import('better-sqlite3');
    const database = new Database(':memory:');
    const row = database.prepare('select sqlite_version() as version').get() as { version: string };
    database.close();
    return { check: 'database', level: 'ok', detail: `SQLite ${row.version} (better-sqlite3) loads` };
  } catch (error) {
    return {
      check: 'database',
      level: 'fail',
      detail: `better-sqlite3 does not load (${(error as Error).message})`,
      hint: 'run `npm rebuild better-sqlite3` (needs python3, make and a C++ compiler)',
    };
  }
}

/** ffmpeg is optional: with it, the text tracks inside a finished video are offered as subtitles too. */
async function checkMediaTools(): Promise<CheckResult> {
  const version = await mediaToolsVersion();
  return version === null
    ? {
        check: 'ffmpeg',
        level: 'warn',
        detail: 'not installed: subtitle files are offered, subtitle tracks inside videos are not',
        hint: 'apt install ffmpeg (optional)',
      }
    : { check: 'ffmpeg', level: 'ok', detail: `${version}: subtitle tracks inside videos are offered too` };
}

function checkNetwork(config: ChillyConfig): CheckResult {
  return config.network === 'loopback'
    ? {
        check: 'network',
        level: 'warn',
        detail: 'loopback: DHT, peer discovery, UPnP and web seeds are off',
        hint: 'only torrents with reachable trackers will find peers; CHILLY_NETWORK=public turns them on',
      }
    : { check: 'network', level: 'ok', detail: 'public: DHT, local peer discovery, UPnP/NAT-PMP and web seeds on' };
}

function checkTmdb(config: ChillyConfig): CheckResult {
  const { apiKey, readToken } = config.tmdb;
  if (apiKey !== undefined || readToken !== undefined) {
    const which = readToken !== undefined ? 'read token' : 'API key';
    return { check: 'TMDB', level: 'ok', detail: `${which} configured (${config.tmdb.baseUrl})` };
  }
  return {
    check: 'TMDB',
    level: 'warn',
    detail: 'no API key: movie search and details are off (downloads work without)',
    hint: 'set TMDB_API_KEY or TMDB_READ_TOKEN (free at themoviedb.org)',
  };
}
