/**
 * An engine in memory behind the `EngineAdapter` interface, for the unit tests of
 * RemoteEngineDownloader and the service on top of it: what a qBittorrent or Transmission daemon
 * does, minus the bytes (the integration tests drive the real daemons). The test moves its
 * torrents along, takes it down, or removes a torrent "in the engine's own interface".
 */
import { ChillyError } from '../../src/domain/errors.js';
import type { JobPeer } from '../../src/domain/job.js';
import type { RateLimits } from '../../src/domain/rate-limits.js';
import type {
  EngineAdapter,
  EngineAddRequest,
  EngineFile,
  EngineSync,
  EngineTorrent,
} from '../../src/downloaders/remote/engine-adapter.js';

interface FakeTorrent {
  torrent: EngineTorrent;
  files: EngineFile[];
  sequential: boolean;
}

export class FakeEngineAdapter implements EngineAdapter {
  readonly engineName = 'FakeEngine';
  readonly capabilities = Object.freeze({ fileSelection: true, sequentialPieces: true });
  /** Every call the driver made, in order (`add <hash>`, `pause <hash>`, `remove <hash> delete`…). */
  readonly calls: string[] = [];
  /** While true, every call fails with `engine_unreachable`. */
  down = false;
  /** When set, signing in fails with `engine_auth_failed`. */
  wrongPassword = false;
  /**
   * The next this many full lists are empty, as from a daemon that answers before it has loaded its
   * torrents (Transmission 3.00 just started does, now and then); nothing it loads shows up in an
   * incremental list either.
   */
  emptyFullLists = 0;
  readonly torrents = new Map<string, FakeTorrent>();
  /** Files a torrent gets when its metadata arrives (the fake has it at once for every source). */
  filesFor: (request: EngineAddRequest) => EngineFile[] = () => [
    { path: 'Film/Film.mkv', length: 1_000_000, bytesDone: 0, wanted: true },
  ];
  readonly #changed = new Set<string>();
  readonly #removed = new Set<string>();
  #fullNext = true;

  constructor(readonly savePath = '/downloads') {}

  async connect(): Promise<void> {
    this.#reachable('connect');
    if (this.wrongPassword) throw new ChillyError('engine_auth_failed', 'FakeEngine: wrong password.');
  }

  async version(): Promise<string> {
    this.#reachable('version');
    return '1.0';
  }

  async defaultSavePath(): Promise<string> {
    this.#reachable('defaultSavePath');
    return this.savePath;
  }

  async add(request: EngineAddRequest): Promise<void> {
    this.#reachable(`add ${request.infoHash}`);
    const files = this.filesFor(request);
    const total = files.reduce((sum, file) => sum + file.length, 0);
    this.torrents.set(request.infoHash, {
      files,
      sequential: request.sequential,
      torrent: {
        infoHash: request.infoHash,
        name: 'Film',
        status: 'downloading',
        savePath: request.savePath,
        hasMetadata: true,
        bytesDone: 0,
        bytesTotal: total,
        downloadSpeed: 0,
        uploadSpeed: 0,
        bytesUploaded: 0,
        peers: 1,
        etaSeconds: null,
      },
    });
    this.#changed.add(request.infoHash);
  }

  async sync(): Promise<EngineSync> {
    this.#reachable('sync');
    if (this.#fullNext) {
      this.#fullNext = false;
      this.#changed.clear();
      this.#removed.clear();
      if (this.emptyFullLists > 0) {
        this.emptyFullLists -= 1;
        return { full: true, torrents: [], removed: [] };
      }
      return { full: true, torrents: [...this.torrents.values()].map((t) => ({ ...t.torrent })), removed: [] };
    }
    const torrents = [...this.#changed].flatMap((hash) => {
      const entry = this.torrents.get(hash);
      return entry === undefined ? [] : [{ ...entry.torrent }];
    });
    const removed = [...this.#removed];
    this.#changed.clear();
    this.#removed.clear();
    return { full: false, torrents, removed };
  }

  resetSync(): void {
    this.#fullNext = true;
  }

  async files(infoHash: string): Promise<EngineFile[]> {
    this.#reachable(`files ${infoHash}`);
    return (this.torrents.get(infoHash)?.files ?? []).map((file) => ({ ...file }));
  }

  async pause(infoHash: string): Promise<void> {
    this.#reachable(`pause ${infoHash}`);
    this.#set(infoHash, { status: 'paused', downloadSpeed: 0 });
  }

  async resume(infoHash: string): Promise<void> {
    this.#reachable(`resume ${infoHash}`);
    this.#set(infoHash, { status: 'downloading' });
  }

  async remove(infoHash: string, options: { deleteData: boolean }): Promise<void> {
    this.#reachable(`remove ${infoHash}${options.deleteData ? ' delete' : ''}`);
    if (this.torrents.delete(infoHash)) this.#removed.add(infoHash);
  }

  async setWantedFiles(infoHash: string, wanted: readonly number[] | null): Promise<void> {
    this.#reachable(`wanted ${infoHash} ${wanted === null ? 'all' : wanted.join(',')}`);
    const entry = this.torrents.get(infoHash);
    entry?.files.forEach((file, index) => {
      file.wanted = wanted === null || wanted.includes(index);
    });
  }

  async setSequential(infoHash: string, sequential: boolean): Promise<void> {
    this.#reachable(`sequential ${infoHash} ${sequential}`);
    const entry = this.torrents.get(infoHash);
    if (entry !== undefined) entry.sequential = sequential;
  }

  async recheck(infoHash: string): Promise<void> {
    this.#reachable(`recheck ${infoHash}`);
    this.#set(infoHash, { status: 'verifying' });
  }

  async setRateLimits(limits: RateLimits): Promise<void> {
    this.#reachable(`limits ${limits.downloadBytesPerSecond} ${limits.uploadBytesPerSecond}`);
  }

  async setTorrentRateLimits(infoHash: string, limits: RateLimits): Promise<void> {
    this.#reachable(`limits ${infoHash} ${limits.downloadBytesPerSecond} ${limits.uploadBytesPerSecond}`);
  }

  /** The peers `peers()` answers for a torrent (none by default). */
  readonly peerLists = new Map<string, JobPeer[]>();

  async peers(infoHash: string): Promise<JobPeer[]> {
    this.#reachable(`peers ${infoHash}`);
    return structuredClone(this.peerLists.get(infoHash) ?? []);
  }

  async close(): Promise<void> {
    this.calls.push('close');
  }

  // ---- what the test does to the engine -----------------------------------------------------

  /** Moves a torrent on to `bytesDone` (completed at its size). */
  advance(infoHash: string, bytesDone: number): void {
    const entry = this.torrents.get(infoHash);
    if (entry === undefined) throw new Error(`FakeEngine has no torrent ${infoHash}`);
    const total = entry.torrent.bytesTotal ?? 0;
    const done = Math.min(total, bytesDone);
    this.#set(infoHash, { bytesDone: done, downloadSpeed: 1000, status: done >= total ? 'completed' : 'downloading' });
  }

  /**
   * The torrent is in the next incremental list with the same figures, as when the engine changed
   * something Chilly does not show (qBittorrent's `last_activity`, Transmission's recently-active list).
   */
  touch(infoHash: string): void {
    if (this.torrents.has(infoHash)) this.#changed.add(infoHash);
  }

  /** As if it were taken out of the engine while nobody listened: no incremental list says so. */
  forget(infoHash: string): void {
    this.torrents.delete(infoHash);
    this.#changed.delete(infoHash);
  }

  /** As if a user removed it in the engine's own interface. */
  removeExternally(infoHash: string): void {
    if (this.torrents.delete(infoHash)) this.#removed.add(infoHash);
  }

  #set(infoHash: string, change: Partial<EngineTorrent>): void {
    const entry = this.torrents.get(infoHash);
    if (entry === undefined) return;
    Object.assign(entry.torrent, change);
    this.#changed.add(infoHash);
  }

  #reachable(call: string): void {
    this.calls.push(call);
    if (this.down) throw new ChillyError('engine_unreachable', 'FakeEngine: connection refused.');
  }
}
