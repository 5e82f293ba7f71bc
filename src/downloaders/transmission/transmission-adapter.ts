/**
 * Transmission (3.00 and later) as a Chilly engine, over its JSON RPC
 * (https://github.com/transmission/transmission/blob/3.00/extras/rpc-spec.txt), through
 * `@ctrl/transmission`'s `Transmission` client with its transport replaced (see `TransmissionRpc`).
 *
 * Incremental sync: the first `sync()` (and the first after `resetSync()` or after the daemon hands
 * out a new session id, e.g. after a restart) reads every torrent; later ones ask for
 * `ids: "recently-active"`: torrents with any activity in the last 60 s, plus `removed`, the ids of
 * torrents removed in the last 60 s. Ids are the daemon's per-session numbers, so the adapter keeps
 * id → info-hash from the last reads to translate `removed`, and reports each removal once.
 * What "recently-active" misses, the adapter reads by info-hash in the same sync:
 * - pausing a torrent or changing its wanted files is no activity in 3.00 (torrent.c sets `anyDate`
 *   on start, verify, queue moves and data, not on stop or file changes): every torrent changed
 *   through the adapter since the previous sync is read once;
 * - a torrent that stops receiving data turns `stalled` only after STALLED_AFTER_SECONDS, and by
 *   then it may have left the window (one added when Chilly was not looking, say): each torrent
 *   due to turn stalled is read once.
 * And when syncs are too far apart for the window (a sleeping laptop), the next one is full.
 */
import { type AddTorrentOptions, type DefaultResponse, type Torrent, Transmission } from '@ctrl/transmission';
import { ChillyError } from '../../domain/errors.js';
import type { JobPeer } from '../../domain/job.js';
import { checkedRateLimits, type RateLimits } from '../../domain/rate-limits.js';
import type {
  EngineAdapter,
  EngineAddRequest,
  EngineCapabilities,
  EngineFile,
  EngineSync,
  EngineTorrent,
} from '../remote/engine-adapter.js';
import {
  FILE_FIELDS,
  normalizeTransmissionFiles,
  normalizeTransmissionPeers,
  normalizeTransmissionTorrent,
  STALLED_AFTER_SECONDS,
  TORRENT_FIELDS,
  TransmissionStatus,
  type TransmissionTorrentFields,
} from './normalize-transmission.js';

export interface TransmissionAdapterOptions {
  /** The RPC endpoint, e.g. `http://127.0.0.1:9091/transmission/rpc`. */
  url: string;
  username?: string;
  password?: string;
  /** How long one RPC request may take, answer included (default 10 s). */
  timeoutMs?: number;
}

const ENGINE_NAME = 'Transmission';
const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * "recently-active" covers the last 60 s (rpcimpl.c RECENTLY_ACTIVE_SECONDS), removals included;
 * after a longer gap between syncs (less a margin for a slow answer), read everything.
 */
const INCREMENTAL_WINDOW_MS = 45_000;
/** How much of an HTTP error page to quote. */
const QUOTE_CHARS = 300;

export class TransmissionAdapter implements EngineAdapter {
  readonly engineName = ENGINE_NAME;
  readonly capabilities: Readonly<EngineCapabilities> = Object.freeze({
    fileSelection: true, // torrent-set files-wanted / files-unwanted
    sequentialPieces: false, // 3.00 has no sequential download (4.1 added `sequential_download`)
  });

  private readonly rpc: TransmissionRpc;
  /** Torrent id → info-hash, from the last full read plus everything seen or added since. */
  private idToHash = new Map<number, string>();
  /** Torrents changed through this adapter since the previous sync, read again explicitly by the next. */
  private readonly touched = new Set<string>();
  /** The RPC session epoch the id map belongs to; null: the next sync is a full one. */
  private syncedEpoch: number | null = null;
  /** For `stalled`: the bytes downloaded ever and when they last grew, for torrents downloading now. */
  private readonly dataSeen = new Map<string, { downloadedEver: number; at: number; stalled: boolean }>();
  /** When the last sync succeeded (performance.now()). */
  private lastSyncAt = Number.NEGATIVE_INFINITY;
  /** Bytes in the daemon's speed unit, once read (see `speedUnit`). */
  private speedBytes: number | undefined;

  constructor(options: TransmissionAdapterOptions) {
    this.rpc = new TransmissionRpc(options);
  }

  async connect(): Promise<void> {
    await this.session();
  }

  async version(): Promise<string> {
    const version = (await this.session()).version;
    return typeof version === 'string' ? version : 'unknown';
  }

  async defaultSavePath(): Promise<string> {
    const dir = (await this.session())['download-dir'];
    if (typeof dir !== 'string') throw this.refused('session-get', 'no download-dir in its answer');
    return dir;
  }

  async add(request: EngineAddRequest): Promise<void> {
    const infoHash = checkedHash(request.infoHash);
    // `sequential` is not honoured: `capabilities.sequentialPieces` is false, the caller knows.
    const options: Partial<AddTorrentOptions> = { 'download-dir': request.savePath, paused: false };
    let data: DefaultResponse;
    if (request.torrentFile !== undefined) {
      const bytes = request.torrentFile;
      const metainfo = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
      data = await this.rpc.addTorrent(metainfo, options);
    } else if (request.magnetURI !== undefined) {
      // torrent-add's `filename` also takes an http(s) URL the daemon would fetch, or a path on its
      // machine: only ever hand it a magnet.
      if (!/^magnet:\?/i.test(request.magnetURI)) {
        throw new ChillyError('invalid_magnet', 'Only a magnet URI can be handed to Transmission.');
      }
      data = await this.rpc.addMagnet(request.magnetURI, options);
    } else {
      throw new ChillyError('validation_failed', 'Adding a torrent needs its .torrent bytes or a magnet URI.');
    }
    // 3.00 answers a torrent it already has with result "duplicate torrent" and `torrent-duplicate`
    // (later versions with "success"): it is there, which is what the caller wants.
    const args = isRecord(data.arguments) ? data.arguments : {};
    const added = args['torrent-added'] ?? args['torrent-duplicate'];
    if (!isRecord(added) || (data.result !== 'success' && args['torrent-duplicate'] === undefined)) {
      throw this.refused('torrent-add', data.result);
    }
    const hash = typeof added.hashString === 'string' ? added.hashString.toLowerCase() : '';
    if (hash !== infoHash) {
      // Nothing of Chilly's would ever find it: take back what this call added (not a torrent
      // that was there before it).
      if (hash !== '' && args['torrent-added'] !== undefined) {
        await this.rpc.removeTorrent([hash], false).catch(() => undefined);
      }
      throw new ChillyError(
        'download_failed',
        `Transmission added the torrent as ${hash || '(no info-hash)'}, not as ${infoHash}.`,
      );
    }
    if (typeof added.id === 'number') this.idToHash.set(added.id, hash);
    this.touched.add(hash);
  }

  async sync(): Promise<EngineSync> {
    const startedAt = performance.now();
    if (this.syncedEpoch !== this.rpc.sessionEpoch || startedAt - this.lastSyncAt > INCREMENTAL_WINDOW_MS) {
      return this.fullSync();
    }
    const epoch = this.rpc.sessionEpoch;
    const touched = [...this.touched];
    const due = this.dueToStall();
    const explicit = new Set([...touched, ...due]);
    const active = await this.torrentGet('recently-active', TORRENT_FIELDS);
    const extra = explicit.size > 0 ? await this.torrentGet([...explicit], TORRENT_FIELDS) : undefined;
    // A new session (the daemon restarted between two syncs) renumbers every torrent.
    if (this.rpc.sessionEpoch !== epoch) return this.fullSync();
    for (const hash of touched) this.touched.delete(hash);
    this.lastSyncAt = startedAt;

    const byHash = new Map<string, EngineTorrent>();
    for (const raw of [...active.torrents, ...(extra?.torrents ?? [])]) {
      const torrent = this.normalize(raw);
      this.idToHash.set(raw.id, torrent.infoHash);
      byHash.set(torrent.infoHash, torrent);
    }
    for (const hash of due) if (!byHash.has(hash)) this.dataSeen.delete(hash); // gone meanwhile
    const removed: string[] = [];
    for (const id of active.removed) {
      const hash = this.idToHash.get(id);
      if (hash === undefined) continue; // reported already, or never known
      this.idToHash.delete(id);
      // Removed, then added again (a new id) within the window: it is there now.
      if (byHash.has(hash)) continue;
      this.dataSeen.delete(hash);
      removed.push(hash);
    }
    return { full: false, torrents: [...byHash.values()], removed };
  }

  resetSync(): void {
    this.syncedEpoch = null;
  }

  async files(infoHash: string): Promise<EngineFile[]> {
    const hash = checkedHash(infoHash);
    const { torrents } = await this.torrentGet([hash], FILE_FIELDS);
    const raw = torrents[0];
    if (raw === undefined) throw new ChillyError('download_failed', `Transmission has no torrent ${hash}.`);
    return normalizeTransmissionFiles(raw.files, raw.fileStats);
  }

  async pause(infoHash: string): Promise<void> {
    const hash = checkedHash(infoHash);
    this.check('torrent-stop', await this.rpc.pauseTorrent([hash]));
    this.touched.add(hash);
  }

  async resume(infoHash: string): Promise<void> {
    const hash = checkedHash(infoHash);
    this.check('torrent-start', await this.rpc.resumeTorrent([hash]));
    this.touched.add(hash);
  }

  async remove(infoHash: string, options: { deleteData: boolean }): Promise<void> {
    const hash = checkedHash(infoHash);
    // Transmission ignores ids it does not have: removing an unknown torrent succeeds, as it should.
    this.check('torrent-remove', await this.rpc.removeTorrent([hash], options.deleteData));
    this.dataSeen.delete(hash);
  }

  async setWantedFiles(infoHash: string, wanted: readonly number[] | null, fileCount: number): Promise<void> {
    const hash = checkedHash(infoHash);
    if (!Number.isInteger(fileCount) || fileCount < 0) {
      throw new ChillyError('validation_failed', `fileCount must be a whole number, not ${fileCount}.`);
    }
    if (fileCount === 0) return; // no metadata yet: no files to choose from
    const all = Array.from({ length: fileCount }, (_, index) => index);
    const chosen = new Set(wanted ?? all);
    for (const index of chosen) {
      if (!Number.isInteger(index) || index < 0 || index >= fileCount) {
        throw new ChillyError(
          'validation_failed',
          `File index ${index} is not one of the torrent's ${fileCount} files.`,
        );
      }
    }
    // An empty files-wanted / files-unwanted list means "every file" to Transmission (rpcimpl.c
    // setFileDLs), so a list is only sent when it names something.
    const filesWanted = all.filter((index) => chosen.has(index));
    const filesUnwanted = all.filter((index) => !chosen.has(index));
    const args: Record<string, number[]> = {};
    if (filesWanted.length > 0) args['files-wanted'] = filesWanted;
    if (filesUnwanted.length > 0) args['files-unwanted'] = filesUnwanted;
    this.check('torrent-set', await this.rpc.setTorrent([hash], args));
    this.touched.add(hash);
  }

  async setSequential(_infoHash: string, sequential: boolean): Promise<void> {
    if (!sequential) return; // pieces in Transmission's own order: all it does
    throw new ChillyError(
      'capability_unsupported',
      'Transmission 3.00 cannot download pieces in order (sequential download): use the built-in engine to stream while downloading.',
    );
  }

  /** `torrent-verify`: Transmission checks the data (`check wait`, `check`), then goes on as it was. */
  async recheck(infoHash: string): Promise<void> {
    const hash = checkedHash(infoHash);
    this.check('torrent-verify', await this.rpc.verifyTorrent([hash]));
    this.touched.add(hash);
  }

  /**
   * `session-set` `speed-limit-down`/`-up` with their `-enabled` flags. Transmission counts in its
   * speed unit (`units.speed-bytes`, 1000 bytes by default): a limit is rounded to whole units, at
   * least one; 0 turns the limit off (the number set in Transmission is left as it was).
   */
  async setRateLimits(limits: RateLimits): Promise<void> {
    const checked = checkedRateLimits(limits);
    const unit = await this.speedUnit();
    const down = toSpeedUnits(checked.downloadBytesPerSecond, unit);
    const up = toSpeedUnits(checked.uploadBytesPerSecond, unit);
    this.check(
      'session-set',
      await this.rpc.setSession({
        'speed-limit-down-enabled': down > 0,
        'speed-limit-up-enabled': up > 0,
        ...(down > 0 ? { 'speed-limit-down': down } : {}),
        ...(up > 0 ? { 'speed-limit-up': up } : {}),
      }),
    );
  }

  /** `torrent-set` `downloadLimit`/`uploadLimit` (speed units, see `setRateLimits`) with `downloadLimited`/`uploadLimited`. */
  async setTorrentRateLimits(infoHash: string, limits: RateLimits): Promise<void> {
    const hash = checkedHash(infoHash);
    const checked = checkedRateLimits(limits);
    const unit = await this.speedUnit();
    const down = toSpeedUnits(checked.downloadBytesPerSecond, unit);
    const up = toSpeedUnits(checked.uploadBytesPerSecond, unit);
    this.check(
      'torrent-set',
      await this.rpc.setTorrent([hash], {
        downloadLimited: down > 0,
        uploadLimited: up > 0,
        ...(down > 0 ? { downloadLimit: down } : {}),
        ...(up > 0 ? { uploadLimit: up } : {}),
      }),
    );
    this.touched.add(hash);
  }

  /** `torrent-get` `peers` of the one torrent. */
  async peers(infoHash: string): Promise<JobPeer[]> {
    const hash = checkedHash(infoHash);
    const { torrents } = await this.torrentGet([hash], ['hashString', 'peers'] as const);
    const raw = torrents[0];
    if (raw === undefined) throw new ChillyError('download_failed', `Transmission has no torrent ${hash}.`);
    return normalizeTransmissionPeers(Array.isArray(raw.peers) ? raw.peers : []);
  }

  async close(): Promise<void> {
    // Transmission has no sessions to sign out of; forget ours so a later connect starts afresh.
    this.rpc.forgetSession();
    this.syncedEpoch = null;
  }

  private async fullSync(): Promise<EngineSync> {
    const startedAt = performance.now();
    const touched = [...this.touched];
    const { torrents: raws } = await this.torrentGet(undefined, TORRENT_FIELDS);
    const idToHash = new Map<number, string>();
    const torrents = raws.map((raw) => {
      const torrent = this.normalize(raw);
      idToHash.set(raw.id, torrent.infoHash);
      return torrent;
    });
    this.idToHash = idToHash;
    for (const hash of touched) this.touched.delete(hash);
    const present = new Set(idToHash.values());
    for (const hash of this.dataSeen.keys()) if (!present.has(hash)) this.dataSeen.delete(hash);
    this.syncedEpoch = this.rpc.sessionEpoch;
    this.lastSyncAt = startedAt;
    return { full: true, torrents, removed: [] };
  }

  private normalize(raw: TransmissionTorrentFields): EngineTorrent {
    const hash = raw.hashString.toLowerCase();
    if (raw.status !== TransmissionStatus.downloading || raw.metadataPercentComplete < 1 || raw.leftUntilDone === 0) {
      this.dataSeen.delete(hash); // the clock starts again when it downloads again
      return normalizeTransmissionTorrent(raw, { secondsWithoutData: 0 });
    }
    // Our own clock, not the daemon's `activityDate`: the daemon may be another machine's.
    const now = performance.now();
    let seen = this.dataSeen.get(hash);
    if (seen === undefined || raw.downloadedEver > seen.downloadedEver || raw.rateDownload > 0) {
      seen = { downloadedEver: raw.downloadedEver, at: now, stalled: false };
      this.dataSeen.set(hash, seen);
    }
    const torrent = normalizeTransmissionTorrent(raw, { secondsWithoutData: (now - seen.at) / 1000 });
    seen.stalled = torrent.status === 'stalled';
    return torrent;
  }

  /** Torrents last reported downloading that turn stalled now, whether or not Transmission calls them active. */
  private dueToStall(): string[] {
    const now = performance.now();
    const due: string[] = [];
    for (const [hash, seen] of this.dataSeen) {
      if (!seen.stalled && now - seen.at >= STALLED_AFTER_SECONDS * 1000) due.push(hash);
    }
    return due;
  }

  /** Bytes in Transmission's speed unit ("kB/s"), from `session-get` `units` (read once; 1000 if absent). */
  private async speedUnit(): Promise<number> {
    if (this.speedBytes === undefined) {
      const units = (await this.session()).units;
      const bytes = isRecord(units) ? units['speed-bytes'] : undefined;
      this.speedBytes = typeof bytes === 'number' && bytes > 0 ? bytes : 1000;
    }
    return this.speedBytes;
  }

  private async session(): Promise<Record<string, unknown>> {
    const data = this.check('session-get', await this.rpc.getSession());
    return isRecord(data.arguments) ? data.arguments : {};
  }

  private async torrentGet<F extends readonly (keyof Torrent)[]>(
    ids: 'recently-active' | string[] | undefined,
    fields: F,
  ): Promise<{ torrents: Pick<Torrent, F[number]>[]; removed: number[] }> {
    const args = ids === undefined ? { fields } : { ids, fields };
    const data = this.check('torrent-get', await this.rpc.call('torrent-get', args));
    const out = isRecord(data.arguments) ? data.arguments : {};
    const torrents = Array.isArray(out.torrents) ? (out.torrents as Pick<Torrent, F[number]>[]) : [];
    const removed = Array.isArray(out.removed) ? out.removed.filter((id): id is number => typeof id === 'number') : [];
    return { torrents, removed };
  }

  /** The answer when its `result` is "success"; Transmission's own words in a `download_failed` otherwise. */
  private check(method: string, data: DefaultResponse | undefined): DefaultResponse {
    if (data?.result !== 'success') throw this.refused(method, data?.result);
    return data;
  }

  private refused(method: string, result: unknown): ChillyError {
    const words = typeof result === 'string' && result !== '' ? result : 'no reason given';
    return new ChillyError('download_failed', `Transmission refused ${method}: ${words}.`);
  }
}

/**
 * `@ctrl/transmission`'s client with its one transport method replaced; its other methods (which
 * build the RPC requests) are used as they are. The package's own `request()` (7.4.0) loses the
 * error on a refused connection or a timeout (it reads `error.response.status` of an ofetch error
 * that has no response and throws that TypeError instead) and answers every 409 by retrying without
 * end. This one does the session-id handshake once per request (RPC spec 2.3.1: a 409 carries the
 * current `X-Transmission-Session-Id`; send it back), and turns failures into `ChillyError`s.
 */
class TransmissionRpc extends Transmission {
  /** Bumped when the daemon hands out a session id other than the one we had: it restarted (or, in 3.00, rotated the id, harmlessly). */
  sessionEpoch = 0;

  private readonly endpoint: URL;
  /** The endpoint without credentials, for messages. */
  private readonly where: string;
  private readonly username: string;
  private readonly authorization: string | undefined;
  private readonly timeoutMs: number;
  private sessionId: string | undefined;

  constructor(options: TransmissionAdapterOptions) {
    let endpoint: URL;
    try {
      endpoint = new URL(options.url);
    } catch (error) {
      throw new ChillyError('validation_failed', 'The Transmission RPC URL is not a valid URL.', { cause: error });
    }
    if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
      throw new ChillyError(
        'validation_failed',
        `The Transmission RPC URL must be http or https, not ${endpoint.protocol}`,
      );
    }
    // Credentials in the URL (http://user:pass@host/…) are taken out: fetch refuses them, and a URL
    // is printed in messages.
    const username = options.username ?? decodeUserInfo(endpoint.username);
    const password = options.password ?? decodeUserInfo(endpoint.password);
    endpoint.username = '';
    endpoint.password = '';
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(timeoutMs > 0)) throw new ChillyError('validation_failed', `timeoutMs must be positive, not ${timeoutMs}.`);
    super({ baseUrl: endpoint.origin, path: endpoint.pathname, username, password, timeout: timeoutMs });
    this.endpoint = endpoint;
    this.where = `${endpoint.origin}${endpoint.pathname}`;
    this.username = username;
    this.authorization =
      username !== '' || password !== ''
        ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
        : undefined;
    this.timeoutMs = timeoutMs;
  }

  forgetSession(): void {
    this.sessionId = undefined;
  }

  /** One RPC call, the parsed answer (whatever its `result`; see `TransmissionAdapter.check`). */
  async call<T extends DefaultResponse = DefaultResponse>(method: string, args: unknown = {}): Promise<T> {
    return (await this.exchange<T>(method, args))._data;
  }

  // The base declares `Promise<ReturnType<typeof ofetch.raw<T>>>`, a promise of a promise, which is
  // a `FetchResponse<T>` (a Response with `_data`) once awaited, as this one is: only a cast says so.
  override request<T>(method: string, args: unknown = {}): ReturnType<typeof Transmission.prototype.request<T>> {
    return this.exchange<T>(method, args) as unknown as ReturnType<typeof Transmission.prototype.request<T>>;
  }

  private async exchange<T>(method: string, args: unknown): Promise<Response & { _data: T }> {
    for (let attempt = 0; ; attempt += 1) {
      const response = await this.post(method, args);
      if (response.status === 409 && attempt === 0) {
        const id = response.headers.get('x-transmission-session-id');
        await response.body?.cancel();
        if (id === null || id === '') {
          throw new ChillyError(
            'engine_unreachable',
            `${this.where} answered 409 without a session id: is it Transmission?`,
          );
        }
        if (this.sessionId !== undefined && this.sessionId !== id) this.sessionEpoch += 1;
        this.sessionId = id;
        continue;
      }
      const text = await this.readBody(response, method);
      if (!response.ok) throw this.httpError(response.status, text);
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (error) {
        throw new ChillyError(
          'engine_unreachable',
          `${this.where} answered with something that is not Transmission RPC.`,
          {
            cause: error,
          },
        );
      }
      if (!isRecord(data) || typeof data.result !== 'string') {
        throw new ChillyError(
          'engine_unreachable',
          `${this.where} answered ${method} without a result: is it Transmission?`,
        );
      }
      return Object.assign(response, { _data: data as T });
    }
  }

  private async post(method: string, args: unknown): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.sessionId !== undefined) headers['x-transmission-session-id'] = this.sessionId;
    if (this.authorization !== undefined) headers.authorization = this.authorization;
    try {
      return await fetch(this.endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ method, arguments: args }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  private async readBody(response: Response, method: string): Promise<string> {
    try {
      return await response.text();
    } catch (error) {
      throw this.unreachable(error, method);
    }
  }

  private unreachable(error: unknown, method?: string): ChillyError {
    const name = (error as { name?: unknown } | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new ChillyError(
        'engine_unreachable',
        `Transmission at ${this.where} did not answer${method ? ` ${method}` : ''} within ${this.timeoutMs} ms.`,
        { cause: error },
      );
    }
    // undici puts the system error (ECONNREFUSED, ENOTFOUND, ECONNRESET…) in `cause`.
    const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
    const reason =
      typeof cause?.code === 'string'
        ? cause.code
        : typeof cause?.message === 'string'
          ? cause.message
          : error instanceof Error
            ? error.message
            : String(error);
    return new ChillyError('engine_unreachable', `Transmission at ${this.where} cannot be reached (${reason}).`, {
      cause: error,
    });
  }

  private httpError(status: number, body: string): ChillyError {
    const words = quote(body);
    if (status === 401) {
      const who = this.authorization === undefined ? 'no user name' : `the user name "${this.username}"`;
      return new ChillyError(
        'engine_auth_failed',
        `Transmission at ${this.where} refused ${who} or its password (HTTP 401).`,
      );
    }
    // 403: our address is not in rpc-whitelist, or too many failed logins (3.00 then refuses
    // everyone until it restarts); 421: the host name is not in rpc-host-whitelist. Retrying cannot
    // help: the engine refuses us, like a wrong password.
    if (status === 403 || status === 421) {
      return new ChillyError(
        'engine_auth_failed',
        `Transmission at ${this.where} refused access (HTTP ${status}): ${words}`,
      );
    }
    if (status === 409) {
      return new ChillyError(
        'engine_unreachable',
        `Transmission at ${this.where} kept asking for a new session id (HTTP 409).`,
      );
    }
    if (status >= 500) {
      return new ChillyError('engine_unreachable', `Transmission at ${this.where} failed (HTTP ${status}): ${words}`);
    }
    return new ChillyError(
      'engine_unreachable',
      `${this.where} answered HTTP ${status}: is it Transmission's RPC URL (usually …/transmission/rpc)? ${words}`,
    );
  }
}

/** Bytes per second in Transmission's speed units, rounded, at least 1 for any limit (0 stays 0: none). */
function toSpeedUnits(bytesPerSecond: number, unit: number): number {
  return bytesPerSecond === 0 ? 0 : Math.max(1, Math.round(bytesPerSecond / unit));
}

/** A v1 info-hash in lowercase, as Transmission's `hashString`; anything else is refused before it reaches RPC. */
function checkedHash(infoHash: string): string {
  const hash = infoHash.toLowerCase();
  if (!/^[0-9a-f]{40}$/.test(hash)) {
    throw new ChillyError('validation_failed', 'An info-hash must be 40 hexadecimal digits (a v1 info-hash).');
  }
  return hash;
}

function decodeUserInfo(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** An HTTP error page as one short line of text. */
function quote(body: string): string {
  const text = body
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return '(no text)';
  return text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS)}…` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
