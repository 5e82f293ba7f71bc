/**
 * The qBittorrent engine adapter: `EngineAdapter` (../remote/engine-adapter.ts) over qBittorrent's
 * WebUI API v2 (https://github.com/qbittorrent/qBittorrent/wiki/WebUI-API-(qBittorrent-4.1)), through
 * `@ctrl/qbittorrent`. Tested against Debian's qbittorrent-nox 4.5.2; the library picks the 5.x names
 * (`torrents/stop`/`start` for `pause`/`resume`, `stopped` for `paused`) from the version it reads at
 * sign-in. The JSON is translated by the pure mappers in ./normalize-qbittorrent.ts. `sync()` reads
 * `sync/maindata`, except on the versions it can crash (./qbittorrent-version.ts): `torrents/info` there.
 *
 * Failures become `ChillyError`s: no answer, a timeout or a 5xx → `engine_unreachable`; a refused
 * sign-in ("Fails." from 4.x, 401 from 5.x) or 403 → `engine_auth_failed`; any other refusal →
 * `download_failed`. Messages name the engine's URL without credentials and never hold the password;
 * the `cause` is a plain error with the network code or HTTP status, not the library's error (whose
 * request options carry the password and the session cookie).
 */
import { QBittorrent, type Torrent, TorrentFilePriority } from '@ctrl/qbittorrent';
import { ChillyError } from '../../domain/errors.js';
import type { JobPeer } from '../../domain/job.js';
import { checkedRateLimits, type RateLimits } from '../../domain/rate-limits.js';
import type {
  EngineAdapter,
  EngineAddRequest,
  EngineCapabilities,
  EngineFile,
  EngineSync,
} from '../remote/engine-adapter.js';
import {
  applyQBittorrentMainData,
  normalizeQBittorrentFiles,
  normalizeQBittorrentPeers,
  type QBittorrentFileJson,
  type QBittorrentMainDataJson,
  type QBittorrentPeerJson,
  type QBittorrentTorrentJson,
} from './normalize-qbittorrent.js';
import { mainDataRisksCrash } from './qbittorrent-version.js';

export interface QBittorrentAdapterOptions {
  /** The WebUI's address, e.g. `http://127.0.0.1:8080` (a path prefix behind a reverse proxy is kept). */
  url: string;
  username?: string;
  password?: string;
  /** Bound on every request, and on the wait for an added torrent to show (default 10 s). */
  timeoutMs?: number;
  /**
   * How `sync()` reads the engine. By default `maindata`, except on the versions that can crash when
   * asked for it (4.5.0 to 4.6.0, ./qbittorrent-version.ts), where it is `torrent-list`.
   */
  syncVia?: QBittorrentSyncSource;
}

/**
 * `maindata`: `sync/maindata` with `rid`, the changes since the previous answer. `torrent-list`:
 * `torrents/info`, every torrent each time (a full sync), which never runs the free-disk-space check.
 */
export type QBittorrentSyncSource = 'maindata' | 'torrent-list';

const DEFAULT_TIMEOUT_MS = 10_000;
const ADD_POLL_FIRST_MS = 50;
const ADD_POLL_MAX_MS = 500;
const BODY_IN_MESSAGE_CHARS = 200;
const INFO_HASH = /^[0-9a-f]{40}$/;

/** Thrown by `SessionClient.login()` when qBittorrent answered but did not open a session. */
class LoginRefusedError extends Error {
  override readonly name = 'LoginRefusedError';
}

/**
 * `@ctrl/qbittorrent` with two changes: a refused sign-in is told apart from other errors (the
 * library throws a bare `Error('Cookie not found. Auth Failed.')` when 4.x answers "Fails."), and the
 * password is sent to /auth/login only. The library also sends it as HTTP Basic on every request, for
 * 5.2+; 4.x ignores that header and every version accepts the session cookie it sets.
 */
class SessionClient extends QBittorrent {
  override async login(): Promise<boolean> {
    try {
      return await super.login();
    } catch (error) {
      if (isFetchError(error)) throw error;
      throw new LoginRefusedError('no session cookie in the answer to /auth/login', { cause: error });
    }
  }

  protected override basicAuthHeader(): string | undefined {
    return undefined;
  }
}

/** What the adapter keeps of a failed request: no headers, no body sent, no credentials. */
class EngineRequestError extends Error {
  override readonly name = 'EngineRequestError';
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

export class QBittorrentAdapter implements EngineAdapter {
  readonly engineName = 'qBittorrent';
  readonly capabilities: Readonly<EngineCapabilities> = Object.freeze({ fileSelection: true, sequentialPieces: true });

  readonly #client: SessionClient;
  /** The URL for messages: no user name or password, no trailing slash. */
  readonly #displayUrl: string;
  readonly #password: string;
  readonly #timeoutMs: number;
  readonly #syncVia: QBittorrentSyncSource | undefined;
  /** sync/maindata's response id; 0 asks for everything. */
  #rid = 0;
  #table: ReadonlyMap<string, QBittorrentTorrentJson> = new Map();
  /** Bumped by `resetSync()`, so an answer to a request sent before it is not merged. */
  #syncGeneration = 0;
  /** sync() calls one after another (each depends on the previous `rid`). */
  #syncQueue: Promise<unknown> = Promise.resolve();
  /** setSequential() calls one after another: qBittorrent only has toggles. */
  #toggleQueue: Promise<unknown> = Promise.resolve();

  constructor(options: QBittorrentAdapterOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new ChillyError('validation_failed', 'The qBittorrent URL is not a valid URL.');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ChillyError('validation_failed', `The qBittorrent URL must be http or https, not ${url.protocol}`);
    }
    // Credentials in the URL (http://user:pass@host) are used when none are given, and never shown.
    const username = options.username ?? safeDecode(url.username);
    this.#password = options.password ?? safeDecode(url.password);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    this.#displayUrl = url.toString().replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#syncVia = options.syncVia;
    this.#client = new SessionClient({
      baseUrl: this.#displayUrl,
      username,
      password: this.#password,
      timeout: this.#timeoutMs,
    });
  }

  async connect(): Promise<void> {
    // A fresh sign-in: the engine may have restarted (old cookie gone) or been upgraded (4.x → 5.x names).
    this.#client.state = {};
    await this.#call('sign in', () => this.#client.login());
  }

  version(): Promise<string> {
    return this.#call('report its version', () => this.#client.getAppVersion());
  }

  defaultSavePath(): Promise<string> {
    return this.#call('report its default save path', () => this.#client.getDefaultSavePath());
  }

  async add(request: EngineAddRequest): Promise<void> {
    const hash = checkedHash(request.infoHash);
    // Options that make the torrent look as Chilly expects whatever the user's defaults are: running,
    // in the save path asked for (no automatic management, no separate incomplete-download folder),
    // laid out as the torrent names it, and not stopped by a global "stop when metadata is received".
    const options = {
      savepath: request.savePath,
      paused: 'false',
      useAutoTMM: 'false',
      useDownloadPath: 'false',
      contentLayout: 'Original',
      stopCondition: 'None',
      sequentialDownload: request.sequential ? 'true' : 'false',
      firstLastPiecePrio: request.sequential ? 'true' : 'false',
    } as const;
    try {
      if (request.torrentFile !== undefined) {
        const bytes = new Uint8Array(request.torrentFile);
        await this.#call('add the torrent', () =>
          this.#client.addTorrent(bytes, { ...options, filename: `${hash}.torrent` }),
        );
      } else if (request.magnetURI !== undefined) {
        const magnet = request.magnetURI;
        await this.#call('add the magnet', () => this.#client.addMagnet(magnet, options));
      } else {
        throw new ChillyError('validation_failed', 'Adding a torrent needs its .torrent bytes or a magnet URI.');
      }
    } catch (error) {
      // "Fails." also means "already there" (4.x and 5.x refuse a duplicate): that is the state asked for.
      if (error instanceof ChillyError && error.code === 'download_failed' && (await this.#has(hash))) return;
      throw error;
    }
    // qBittorrent answers "Ok." before libtorrent has added the torrent: wait until it is listed.
    const deadline = Date.now() + this.#timeoutMs;
    for (let wait = ADD_POLL_FIRST_MS; ; wait = Math.min(wait * 2, ADD_POLL_MAX_MS)) {
      if (await this.#has(hash)) return;
      if (Date.now() + wait > deadline) break;
      await sleep(wait);
    }
    throw new ChillyError(
      'download_failed',
      `qBittorrent accepted torrent ${hash} but did not list it within ${this.#timeoutMs} ms (its log may say why).`,
    );
  }

  sync(): Promise<EngineSync> {
    const next = this.#syncQueue.then(() => this.#syncOnce());
    this.#syncQueue = next.catch(() => undefined);
    return next;
  }

  resetSync(): void {
    this.#rid = 0;
    this.#table = new Map();
    this.#syncGeneration++;
  }

  async files(infoHash: string): Promise<EngineFile[]> {
    const hash = checkedHash(infoHash);
    return normalizeQBittorrentFiles(await this.#listFiles(hash));
  }

  async pause(infoHash: string): Promise<void> {
    const hash = checkedHash(infoHash);
    await this.#call(`pause torrent ${hash}`, () => this.#client.stopTorrent(hash));
  }

  async resume(infoHash: string): Promise<void> {
    const hash = checkedHash(infoHash);
    await this.#call(`resume torrent ${hash}`, () => this.#client.startTorrent(hash));
  }

  async remove(infoHash: string, options: { deleteData: boolean }): Promise<void> {
    const hash = checkedHash(infoHash);
    try {
      // qBittorrent skips hashes it does not have and answers 200.
      await this.#call(`remove torrent ${hash}`, () => this.#client.removeTorrent(hash, options.deleteData));
    } catch (error) {
      if (error instanceof ChillyError && error.code === 'download_failed' && (await this.#has(hash)) === false) return;
      throw error;
    }
  }

  async setWantedFiles(infoHash: string, wanted: readonly number[] | null, fileCount: number): Promise<void> {
    const hash = checkedHash(infoHash);
    for (const index of wanted ?? []) {
      if (!Number.isInteger(index) || index < 0 || index >= fileCount) {
        throw new ChillyError(
          'validation_failed',
          `File index ${index} is not one of the torrent's ${fileCount} files.`,
        );
      }
    }
    const files = await this.#listFiles(hash);
    if (files.length === 0) {
      throw new ChillyError(
        'download_failed',
        `qBittorrent does not know the files of torrent ${hash} yet (no metadata).`,
      );
    }
    if (files.length !== fileCount) {
      throw new ChillyError(
        'validation_failed',
        `qBittorrent lists ${files.length} files in torrent ${hash}, not ${fileCount}: the file choice does not fit it.`,
      );
    }
    const want = wanted === null ? null : new Set(wanted);
    const start: string[] = [];
    const skip: string[] = [];
    files.forEach((file, position) => {
      const index = typeof file.index === 'number' ? file.index : position;
      const wantIt = want === null || want.has(index);
      // Only what changes: a file the user raised to high priority in qBittorrent keeps it.
      if (wantIt && file.priority === TorrentFilePriority.Skip) start.push(String(index));
      if (!wantIt && file.priority !== TorrentFilePriority.Skip) skip.push(String(index));
    });
    if (start.length > 0) {
      await this.#call(`choose the files of torrent ${hash}`, () =>
        this.#client.setFilePriority(hash, start.join('|'), TorrentFilePriority.NormalPriority),
      );
    }
    if (skip.length > 0) {
      await this.#call(`choose the files of torrent ${hash}`, () =>
        this.#client.setFilePriority(hash, skip.join('|'), TorrentFilePriority.Skip),
      );
    }
  }

  setSequential(infoHash: string, sequential: boolean): Promise<void> {
    const hash = checkedHash(infoHash);
    const next = this.#toggleQueue.then(() => this.#setSequentialNow(hash, sequential));
    this.#toggleQueue = next.catch(() => undefined);
    return next;
  }

  /** `torrents/recheck`: qBittorrent checks the data (`checkingUP`/`checkingDL`), then goes on as it was. */
  async recheck(infoHash: string): Promise<void> {
    const hash = checkedHash(infoHash);
    await this.#call(`recheck torrent ${hash}`, () => this.#client.recheckTorrent(hash));
  }

  /**
   * `app/setPreferences` with `dl_limit`/`up_limit`, in bytes per second (0: none); qBittorrent keeps
   * them in whole KiB/s (a limit under 1 KiB/s is 1 KiB/s). The alternative limits are left alone.
   */
  async setRateLimits(limits: RateLimits): Promise<void> {
    const { downloadBytesPerSecond: dl_limit, uploadBytesPerSecond: up_limit } = checkedRateLimits(limits);
    await this.#call('set its speed limits', () => this.#client.setPreferences({ dl_limit, up_limit }));
  }

  /** `torrents/setDownloadLimit` and `torrents/setUploadLimit`, bytes per second (0: none). */
  async setTorrentRateLimits(infoHash: string, limits: RateLimits): Promise<void> {
    const hash = checkedHash(infoHash);
    const checked = checkedRateLimits(limits);
    await this.#call(`limit the download speed of torrent ${hash}`, () =>
      this.#client.setTorrentDownloadLimit(hash, checked.downloadBytesPerSecond),
    );
    await this.#call(`limit the upload speed of torrent ${hash}`, () =>
      this.#client.setTorrentUploadLimit(hash, checked.uploadBytesPerSecond),
    );
  }

  /** `sync/torrentPeers` asked for everything (rid 0): the torrent's connected peers. */
  async peers(infoHash: string): Promise<JobPeer[]> {
    const hash = checkedHash(infoHash);
    const answer = await this.#call(`list the peers of torrent ${hash}`, () => this.#client.torrentPeers(hash, 0));
    return normalizeQBittorrentPeers((answer?.peers ?? {}) as Record<string, QBittorrentPeerJson>);
  }

  async close(): Promise<void> {
    if (this.#client.state.auth !== undefined) {
      // Ends the WebUI session; an engine that is gone has nothing to end.
      await this.#client
        .request<string>('/auth/logout', 'POST', undefined, undefined, undefined, false)
        .catch(() => undefined);
    }
    this.#client.logout();
    this.resetSync();
  }

  async #syncOnce(): Promise<EngineSync> {
    if ((await this.#syncSource()) === 'torrent-list') return this.#syncFromList();
    for (;;) {
      const generation = this.#syncGeneration;
      const rid = this.#rid;
      const data = await this.#call('report its torrents', () => this.#client.getSyncMainData(rid));
      // resetSync() while the answer was on its way: it diffs against state the caller dropped; ask again.
      if (generation !== this.#syncGeneration) continue;
      const { table, sync } = applyQBittorrentMainData(this.#table, data as QBittorrentMainDataJson);
      this.#table = table;
      this.#rid = data.rid;
      return sync;
    }
  }

  /** The source asked for, or the one that suits the engine's version (read at sign-in). */
  async #syncSource(): Promise<QBittorrentSyncSource> {
    if (this.#syncVia !== undefined) return this.#syncVia;
    const version = this.#client.state.version?.version ?? (await this.version());
    return mainDataRisksCrash(version) ? 'torrent-list' : 'maindata';
  }

  /** A full sync from `torrents/info`, through the same mapping as a full `sync/maindata` answer. */
  async #syncFromList(): Promise<EngineSync> {
    const list: unknown = await this.#call('report its torrents', () => this.#client.listTorrents());
    if (!Array.isArray(list)) {
      throw new ChillyError(
        'download_failed',
        `qBittorrent at ${this.#displayUrl} answered torrents/info with no list.`,
      );
    }
    const torrents: Record<string, QBittorrentTorrentJson> = {};
    for (const torrent of list as Array<QBittorrentTorrentJson | null>) {
      if (typeof torrent?.hash === 'string') torrents[torrent.hash] = torrent;
    }
    const { table, sync } = applyQBittorrentMainData(new Map(), { rid: 0, full_update: true, torrents });
    this.#table = table;
    this.#rid = 0;
    return sync;
  }

  /**
   * qBittorrent has toggles only (`toggleSequentialDownload`, `toggleFirstLastPiecePrio`): read the
   * flags first and toggle those that differ. 4.5 updates both flags at once when toggled
   * (TorrentImpl::setSequentialDownload), so a read right after a toggle sees it.
   */
  async #setSequentialNow(hash: string, sequential: boolean): Promise<void> {
    const torrent = await this.#info(hash);
    if (torrent === undefined) {
      throw new ChillyError('download_failed', `qBittorrent has no torrent ${hash}.`);
    }
    if (torrent.seq_dl !== sequential) await this.#toggle('toggleSequentialDownload', hash);
    if (torrent.f_l_piece_prio !== sequential) await this.#toggle('toggleFirstLastPiecePrio', hash);
  }

  async #toggle(action: 'toggleSequentialDownload' | 'toggleFirstLastPiecePrio', hash: string): Promise<void> {
    await this.#call(`set the piece order of torrent ${hash}`, () =>
      this.#client.request<string>(
        `/torrents/${action}`,
        'POST',
        undefined,
        new URLSearchParams({ hashes: hash }),
        undefined,
        false,
      ),
    );
  }

  async #info(hash: string): Promise<Torrent | undefined> {
    const list = await this.#call(`look up torrent ${hash}`, () => this.#client.listTorrents({ hashes: hash }));
    return list.find((torrent) => torrent.hash.toLowerCase() === hash);
  }

  async #listFiles(hash: string): Promise<QBittorrentFileJson[]> {
    // The library's TorrentFile type lacks `index` (sent since Web API 2.8.2); the JSON is what 4.5 sends.
    const files: unknown = await this.#call(`list the files of torrent ${hash}`, () => this.#client.torrentFiles(hash));
    return files as QBittorrentFileJson[];
  }

  async #has(hash: string): Promise<boolean> {
    return (await this.#info(hash)) !== undefined;
  }

  async #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.#engineError(error, what);
    }
  }

  #engineError(error: unknown, what: string): ChillyError {
    if (error instanceof ChillyError) return error;
    const at = `qBittorrent at ${this.#displayUrl}`;
    if (error instanceof LoginRefusedError) {
      return this.#chilly(
        'engine_auth_failed',
        `${at} refused the user name or password (it answered "Fails." to the sign-in).`,
        new EngineRequestError('sign-in refused'),
      );
    }
    if (!isFetchError(error)) {
      // The library's own checks, e.g. "Failed to add torrent" when /torrents/add answers "Fails.".
      const reason = error instanceof Error ? error.message : String(error);
      return this.#chilly('download_failed', `${at} refused to ${what}: ${reason}`, new EngineRequestError(reason));
    }
    const status = typeof error.statusCode === 'number' ? error.statusCode : undefined;
    if (status === undefined) {
      const reason = networkReason(error, this.#timeoutMs);
      return this.#chilly(
        'engine_unreachable',
        `${at} does not answer (${reason}) when asked to ${what}.`,
        new EngineRequestError(reason, undefined, errnoOf(error)),
      );
    }
    const body = bodyText(error.data);
    const said = body === '' ? '' : `: ${body}`;
    const cause = new EngineRequestError(`HTTP ${status}${said}`, status);
    if (status >= 500) {
      return this.#chilly('engine_unreachable', `${at} failed (HTTP ${status}) when asked to ${what}${said}`, cause);
    }
    if (status === 401 || status === 403) {
      // 4.x answers 403 to a request without a valid session, and to every sign-in from an address it
      // banned after too many failed ones (WebUI\MaxAuthenticationFailCount, 5 by default, for an hour).
      return this.#chilly(
        'engine_auth_failed',
        `${at} refused access (HTTP ${status}) when asked to ${what}: wrong user name or password, or this address is banned after failed sign-ins${said}`,
        cause,
      );
    }
    if (status === 404 && /torrent/i.test(what)) {
      return this.#chilly('download_failed', `${at} has no such torrent (HTTP 404) when asked to ${what}.`, cause);
    }
    return this.#chilly('download_failed', `${at} refused to ${what} (HTTP ${status})${said}`, cause);
  }

  /** A ChillyError whose message cannot hold the password, whatever the engine echoed. */
  #chilly(
    code: 'engine_unreachable' | 'engine_auth_failed' | 'download_failed',
    message: string,
    cause: Error,
  ): ChillyError {
    const scrub = (text: string): string =>
      this.#password.length >= 3 ? text.split(this.#password).join('[password]') : text;
    cause.message = scrub(cause.message);
    return new ChillyError(code, scrub(message), { cause });
  }
}

interface FetchErrorLike extends Error {
  statusCode?: unknown;
  data?: unknown;
}

/** ofetch's FetchError (a dependency of the library, not ours: recognised by its name). */
function isFetchError(error: unknown): error is FetchErrorLike {
  return error instanceof Error && error.name === 'FetchError';
}

function checkedHash(infoHash: string): string {
  const hash = infoHash.toLowerCase();
  if (!INFO_HASH.test(hash)) {
    throw new ChillyError('validation_failed', 'An info-hash must be 40 hexadecimal digits (a v1 info-hash).');
  }
  return hash;
}

/** The errno of the first cause that has one (ECONNREFUSED, ECONNRESET, ENOTFOUND…). */
function errnoOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}

/** Why a request got no answer, in a few words: a timeout, an errno, or the innermost cause's message. */
function networkReason(error: unknown, timeoutMs: number): string {
  let current: unknown = error;
  let innermost = 'no answer';
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current.name === 'TimeoutError' || /timeout/i.test(current.message)) return `no answer within ${timeoutMs} ms`;
    if (depth > 0 && current.message !== '') innermost = current.message;
    current = current.cause;
  }
  const code = errnoOf(error);
  if (code === 'ECONNREFUSED') return 'connection refused';
  return code ?? innermost;
}

function bodyText(data: unknown): string {
  if (data === undefined || data === null) return '';
  const text = (typeof data === 'string' ? data : JSON.stringify(data)).replace(/\s+/g, ' ').trim();
  return text.length > BODY_IN_MESSAGE_CHARS ? `${text.slice(0, BODY_IN_MESSAGE_CHARS)}…` : text;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
