/**
 * QBittorrentAdapter against a real qbittorrent-nox (tests/helpers/qbittorrent-daemon.ts), fed by
 * loopback swarms (a tracker on 127.0.0.1 and a WebTorrent seeder). Everything stays on loopback:
 * the daemon's profile turns DHT, LSD, PeX, UPnP/NAT-PMP off and binds it to 127.0.0.1.
 *
 * One daemon serves the file (it starts in well under a second); each test brings its own swarm and
 * save path. The restart test comes last: it kills the daemon.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, request as httpRequest, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { QBittorrent } from '@ctrl/qbittorrent';
import parseTorrent from 'parse-torrent';
import { isChillyError } from '../../src/domain/errors.js';
import {
  QBittorrentAdapter,
  type QBittorrentSyncSource,
} from '../../src/downloaders/qbittorrent/qbittorrent-adapter.js';
import { mainDataRisksCrash } from '../../src/downloaders/qbittorrent/qbittorrent-version.js';
import type { EngineTorrent } from '../../src/downloaders/remote/engine-adapter.js';
import { createLoopbackSwarm, type LoopbackSwarm, type SwarmFileSpec, sha256File } from '../helpers/loopback-swarm.js';
import { freeLoopbackPort } from '../helpers/ports.js';
import {
  findQBittorrentNox,
  QBITTORRENT_NOX_MISSING,
  type QBittorrentDaemon,
  startQBittorrentDaemon,
} from '../helpers/qbittorrent-daemon.js';
import { sleep } from '../helpers/wait.js';

const KIB = 1024;
const MIB = 1024 * KIB;
/** Bound on one download of a few MiB over loopback (they take 1-3 s: qBittorrent refreshes its figures every 1.5 s). */
const DOWNLOAD_TIMEOUT_MS = 20_000;
/** Bound on an engine state change showing (pause, resume, removal): a few of qBittorrent's 1.5 s refreshes. */
const STATE_TIMEOUT_MS = 8_000;
const POLL_MS = 200;

/** The torrents as the adapter's syncs describe them, merged the way a driver would. */
class SyncView {
  readonly #adapter: QBittorrentAdapter;
  #torrents = new Map<string, EngineTorrent>();

  constructor(adapter: QBittorrentAdapter) {
    this.#adapter = adapter;
  }

  async refresh(): Promise<void> {
    const sync = await this.#adapter.sync();
    if (sync.full) this.#torrents = new Map();
    for (const torrent of sync.torrents) this.#torrents.set(torrent.infoHash, torrent);
    for (const hash of sync.removed) this.#torrents.delete(hash);
  }

  get(infoHash: string): EngineTorrent | undefined {
    return this.#torrents.get(infoHash);
  }

  reset(): void {
    this.#torrents = new Map();
  }
}

/** A loopback HTTP proxy to `target` that keeps the path of every request it passes on. */
async function recordingProxy(target: string): Promise<{ url: string; paths: string[]; close(): Promise<void> }> {
  const paths: string[] = [];
  const host = new URL(target).host;
  const server = createServer((request, response) => {
    paths.push((request.url ?? '/').split('?')[0] ?? '/');
    const upstream = httpRequest(
      new URL(request.url ?? '/', target),
      { method: request.method, headers: { ...request.headers, host } },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    paths,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const installed = (await findQBittorrentNox()) !== null;

describe('QBittorrentAdapter against qbittorrent-nox', { skip: installed ? false : QBITTORRENT_NOX_MISSING }, () => {
  let daemon: QBittorrentDaemon;
  let adapter: QBittorrentAdapter;
  let view: SyncView;
  const swarms: LoopbackSwarm[] = [];
  const adapters: QBittorrentAdapter[] = [];

  const newAdapter = (
    overrides: { password?: string; url?: string; syncVia?: QBittorrentSyncSource } = {},
  ): QBittorrentAdapter => {
    const created = new QBittorrentAdapter({
      url: overrides.url ?? daemon.url,
      username: daemon.username,
      password: overrides.password ?? daemon.password,
      timeoutMs: 5_000,
      ...(overrides.syncVia === undefined ? {} : { syncVia: overrides.syncVia }),
    });
    adapters.push(created);
    return created;
  };

  const swarm = async (name: string, files: SwarmFileSpec[], uploadLimit?: number): Promise<LoopbackSwarm> => {
    const created = await createLoopbackSwarm({
      name,
      files,
      pieceLength: 64 * KIB,
      ...(uploadLimit === undefined ? {} : { uploadLimit }),
    });
    swarms.push(created);
    return created;
  };

  /**
   * A raw client, to read what the adapter's types do not show (sequential flags). One for the file:
   * every sign-in opens a WebUI session, and each session start runs the free-disk-space check that
   * can crash 4.5.x (src/downloaders/qbittorrent/qbittorrent-version.ts).
   */
  let rawClient: QBittorrent | undefined;
  const raw = (): QBittorrent => {
    rawClient ??= new QBittorrent({
      baseUrl: daemon.url,
      username: daemon.username,
      password: daemon.password,
      timeout: 5_000,
    });
    return rawClient;
  };

  /** Polls the shared view until the torrent satisfies `check`; the daemon's log is in the failure. */
  const waitForTorrent = async (
    infoHash: string,
    what: string,
    check: (torrent: EngineTorrent) => boolean,
    timeoutMs = DOWNLOAD_TIMEOUT_MS,
  ): Promise<EngineTorrent> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await view.refresh();
      const torrent = view.get(infoHash);
      if (torrent !== undefined && check(torrent)) return torrent;
      if (Date.now() > deadline) {
        assert.fail(
          `timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(torrent)}\n${daemon.log().slice(-4000)}`,
        );
      }
      await sleep(POLL_MS);
    }
  };

  const expectFilesMatch = async (savePath: string, source: LoopbackSwarm, indexes?: readonly number[]) => {
    for (const [index, file] of source.files.entries()) {
      if (indexes !== undefined && !indexes.includes(index)) continue;
      assert.equal(await sha256File(path.join(savePath, file.path)), file.sha256, `${file.path} byte for byte`);
    }
  };

  before(async () => {
    daemon = await startQBittorrentDaemon();
    adapter = newAdapter();
    await adapter.connect();
    view = new SyncView(adapter);
  });

  after(async () => {
    for (const each of adapters) await each.close().catch(() => undefined);
    await daemon?.close();
    for (const each of swarms) await each.close();
  });

  test('reports its version and default save path', async () => {
    assert.match(await adapter.version(), /^v\d+\.\d+\.\d+/);
    assert.equal(await adapter.defaultSavePath(), daemon.downloadDir);
    assert.equal(adapter.engineName, 'qBittorrent');
    assert.deepEqual({ ...adapter.capabilities }, { fileSelection: true, sequentialPieces: true });
  });

  test('adds a .torrent and downloads it byte for byte into the save path', async () => {
    const source = await swarm('Torrent File Movie', [
      { path: 'movie.mkv', size: 3 * MIB },
      { path: 'extras/subs.srt', size: 40 * KIB },
    ]);
    const savePath = path.join(daemon.downloadDir, 'torrent-file-job');
    await adapter.add({ infoHash: source.infoHash, torrentFile: source.torrentFile, savePath, sequential: false });

    // add() resolves only once qBittorrent lists the torrent: the very next sync has it.
    await view.refresh();
    const first = view.get(source.infoHash);
    assert.ok(first, 'the torrent shows in the first sync after add()');
    assert.equal(first.savePath, savePath);
    assert.equal(first.hasMetadata, true);

    const done = await waitForTorrent(source.infoHash, 'completed', (t) => t.status === 'completed');
    assert.equal(done.name, 'Torrent File Movie');
    assert.equal(done.savePath, savePath, 'the save path as asked, no trailing slash');
    assert.equal(done.bytesTotal, 3 * MIB + 40 * KIB);
    assert.equal(done.bytesDone, done.bytesTotal);
    assert.equal(done.etaSeconds, 0);

    const files = await adapter.files(source.infoHash);
    // In the torrent's order (create-torrent sorts the files by path), the top folder included.
    const inTorrent = ((await parseTorrent(source.torrentFile)).files ?? []).map((file) => ({
      path: file.path.split(path.sep).join('/'),
      length: file.length,
      bytesDone: file.length,
      wanted: true,
    }));
    assert.equal(inTorrent.length, 2);
    assert.deepEqual(files, inTorrent, "a multi-file torrent's paths start with its top folder");
    assert.ok(files.every((file) => file.path.startsWith('Torrent File Movie/')));
    await expectFilesMatch(savePath, source);
  });

  test('adds a magnet, fetches the metadata from the swarm and downloads it', async () => {
    const source = await swarm('magnet-movie.mkv', [{ path: 'magnet-movie.mkv', size: 2 * MIB }]);
    const savePath = path.join(daemon.downloadDir, 'magnet-job');
    await adapter.add({ infoHash: source.infoHash, magnetURI: source.magnetURI, savePath, sequential: true });

    const done = await waitForTorrent(source.infoHash, 'completed', (t) => t.status === 'completed');
    assert.equal(done.hasMetadata, true);
    assert.equal(done.name, 'magnet-movie.mkv');
    assert.equal(done.bytesDone, 2 * MIB);
    const files = await adapter.files(source.infoHash);
    assert.deepEqual(files, [{ path: 'magnet-movie.mkv', length: 2 * MIB, bytesDone: 2 * MIB, wanted: true }]);
    await expectFilesMatch(savePath, source);
  });

  test('sync is incremental: changes only, whole torrents, removals', async () => {
    // sync/maindata asked for, whatever the version (4.5.x gets torrents/info by default: next test).
    const own = newAdapter({ syncVia: 'maindata' });
    await own.connect();
    const source = await swarm('Incremental Movie', [{ path: 'a.bin', size: 256 * KIB }]);
    await own.add({
      infoHash: source.infoHash,
      torrentFile: source.torrentFile,
      savePath: path.join(daemon.downloadDir, 'incremental-job'),
      sequential: false,
    });

    const full = await own.sync();
    assert.equal(full.full, true, 'the first sync is a full one');
    assert.deepEqual(full.removed, []);
    assert.ok(full.torrents.some((t) => t.infoHash === source.infoHash));

    // Let it finish, so that nothing is going on.
    const deadline = Date.now() + DOWNLOAD_TIMEOUT_MS;
    let status = full.torrents.find((t) => t.infoHash === source.infoHash)?.status;
    while (status !== 'completed') {
      assert.ok(Date.now() < deadline, `the small torrent completes (last status ${status})\n${daemon.log()}`);
      await sleep(POLL_MS);
      const changes = await own.sync();
      assert.equal(changes.full, false);
      for (const torrent of changes.torrents) {
        // Partial maindata objects are merged: every reported torrent is whole.
        assert.ok(torrent.name !== undefined && torrent.savePath !== '', `whole torrent: ${JSON.stringify(torrent)}`);
      }
      status = changes.torrents.find((t) => t.infoHash === source.infoHash)?.status ?? status;
    }

    // Back-to-back syncs with nothing moving: incremental, and (at least once) empty. A refresh
    // of qBittorrent's figures (every 1.5 s) may fall between two calls, hence a few tries.
    const counts: number[] = [];
    for (let attempt = 0; attempt < 3 && !counts.includes(0); attempt++) {
      await own.sync();
      const quiet = await own.sync();
      assert.equal(quiet.full, false);
      assert.deepEqual(quiet.removed, []);
      counts.push(quiet.torrents.length);
    }
    assert.ok(counts.includes(0), `an idle sync reports nothing (torrents reported: ${counts.join(', ')})`);

    await own.remove(source.infoHash, { deleteData: true });
    const afterRemoval = await own.sync();
    assert.equal(afterRemoval.full, false);
    assert.deepEqual(afterRemoval.removed, [source.infoHash]);
    assert.ok(!afterRemoval.torrents.some((t) => t.infoHash === source.infoHash));

    own.resetSync();
    const again = await own.sync();
    assert.equal(again.full, true, 'resetSync() makes the next sync a full one');
    assert.ok(!again.torrents.some((t) => t.infoHash === source.infoHash));
  });

  test('by default sync reads torrents/info where sync/maindata can crash the engine: every sync full, a removed torrent absent', async () => {
    const version = await adapter.version();
    const listed = mainDataRisksCrash(version);
    const proxy = await recordingProxy(daemon.url);
    try {
      const own = newAdapter({ url: proxy.url });
      await own.connect();
      const source = await swarm('Listed Movie', [{ path: 'b.bin', size: 256 * KIB }]);
      await own.add({
        infoHash: source.infoHash,
        torrentFile: source.torrentFile,
        savePath: path.join(daemon.downloadDir, 'listed-job'),
        sequential: false,
      });
      const before = proxy.paths.length;
      const first = await own.sync();
      const second = await own.sync();
      await own.remove(source.infoHash, { deleteData: true });
      const afterRemove = proxy.paths.length;
      const third = await own.sync();
      const bySync = [...proxy.paths.slice(before, before + 2), ...proxy.paths.slice(afterRemove)];

      assert.deepEqual(
        bySync,
        Array(3).fill(listed ? '/api/v2/torrents/info' : '/api/v2/sync/maindata'),
        `qBittorrent ${version}: ${listed ? 'torrents/info only' : 'sync/maindata'}`,
      );
      for (const sync of [first, second]) {
        assert.equal(sync.full, true, 'the first sync is full, and with torrents/info every one is');
        const torrent = sync.torrents.find((t) => t.infoHash === source.infoHash);
        assert.ok(torrent, 'the torrent is listed');
        assert.equal(torrent.name, 'Listed Movie');
        assert.equal(torrent.savePath, path.join(daemon.downloadDir, 'listed-job'));
        if (!listed) break;
      }
      assert.equal(third.full, listed);
      assert.ok(!third.torrents.some((t) => t.infoHash === source.infoHash), 'the removed torrent is not listed');
      assert.deepEqual(third.removed, listed ? [] : [source.infoHash]);
    } finally {
      await proxy.close();
    }
  });

  test('pause stops the transfer, file choice and piece order reach the engine, resume finishes the wanted files', async () => {
    // A slow seeder keeps the download in flight long enough to pause it halfway.
    const source = await swarm(
      'Paused Movie',
      [
        { path: 'part1.mkv', size: MIB },
        { path: 'part2.mkv', size: MIB },
        { path: 'part3.mkv', size: MIB },
      ],
      128 * KIB,
    );
    const savePath = path.join(daemon.downloadDir, 'pause-job');
    const { infoHash } = source;
    await adapter.add({ infoHash, torrentFile: source.torrentFile, savePath, sequential: false });
    await waitForTorrent(infoHash, 'some bytes', (t) => t.bytesDone > 0);

    await adapter.pause(infoHash);
    const paused = await waitForTorrent(infoHash, 'paused', (t) => t.status === 'paused', STATE_TIMEOUT_MS);
    assert.equal(paused.etaSeconds, null);
    // Longer than qBittorrent's 1.5 s refresh: had anything moved, it would show.
    await sleep(2_000);
    await view.refresh();
    const still = view.get(infoHash);
    assert.equal(still?.status, 'paused');
    assert.equal(still?.bytesDone, paused.bytesDone, 'no bytes arrive while paused');
    assert.equal(still?.downloadSpeed, 0);

    // Sequential: the toggles are set, not flipped, whatever they were.
    const flags = async () => {
      const [torrent] = await raw().listTorrents({ hashes: infoHash });
      return { seq: torrent?.seq_dl, firstLast: torrent?.f_l_piece_prio };
    };
    await adapter.setSequential(infoHash, true);
    assert.deepEqual(await flags(), { seq: true, firstLast: true });
    await adapter.setSequential(infoHash, true);
    assert.deepEqual(await flags(), { seq: true, firstLast: true }, 'asking twice does not toggle back');
    await adapter.setSequential(infoHash, false);
    assert.deepEqual(await flags(), { seq: false, firstLast: false });
    await adapter.setSequential(infoHash, true);

    // File choice: files 0 and 2 only.
    await adapter.setWantedFiles(infoHash, [0, 2], 3);
    assert.deepEqual(
      (await adapter.files(infoHash)).map((file) => file.wanted),
      [true, false, true],
    );
    await waitForTorrent(infoHash, 'the wanted size', (t) => t.bytesTotal === 2 * MIB, STATE_TIMEOUT_MS);
    await assert.rejects(adapter.setWantedFiles(infoHash, [3], 3), (error) =>
      isChillyError(error, 'validation_failed'),
    );

    source.seeder?.throttleUpload(-1);
    await adapter.resume(infoHash);
    const done = await waitForTorrent(infoHash, 'completed (wanted files)', (t) => t.status === 'completed');
    assert.equal(done.bytesDone, 2 * MIB);
    await expectFilesMatch(savePath, source, [0, 2]);
    const files = await adapter.files(infoHash);
    assert.equal(files[0]?.bytesDone, MIB);
    assert.equal(files[2]?.bytesDone, MIB);

    // null: every file again.
    await adapter.setWantedFiles(infoHash, null, 3);
    assert.deepEqual(
      (await adapter.files(infoHash)).map((file) => file.wanted),
      [true, true, true],
    );
    const all = await waitForTorrent(
      infoHash,
      'completed (all files)',
      (t) => t.status === 'completed' && t.bytesTotal === 3 * MIB,
    );
    assert.equal(all.bytesDone, 3 * MIB);
    await expectFilesMatch(savePath, source);
  });

  test('remove keeps the files without deleteData and deletes them with it', async () => {
    const source = await swarm('Removed Movie', [
      { path: 'movie.mkv', size: MIB },
      { path: 'poster.jpg', size: 20 * KIB },
    ]);
    const { infoHash } = source;

    const keptPath = path.join(daemon.downloadDir, 'remove-keep-job');
    await adapter.add({ infoHash, torrentFile: source.torrentFile, savePath: keptPath, sequential: false });
    await waitForTorrent(infoHash, 'completed', (t) => t.status === 'completed');
    await adapter.remove(infoHash, { deleteData: false });
    await view.refresh();
    assert.equal(view.get(infoHash), undefined, 'the torrent is gone from the engine at once');
    await expectFilesMatch(keptPath, source);

    const deletedPath = path.join(daemon.downloadDir, 'remove-delete-job');
    await adapter.add({ infoHash, torrentFile: source.torrentFile, savePath: deletedPath, sequential: false });
    await waitForTorrent(infoHash, 'completed again', (t) => t.status === 'completed');
    await expectFilesMatch(deletedPath, source);
    await adapter.remove(infoHash, { deleteData: true });
    const deadline = Date.now() + STATE_TIMEOUT_MS;
    const stillThere = () => source.files.filter((file) => existsSync(path.join(deletedPath, file.path)));
    while (stillThere().length > 0 && Date.now() < deadline) await sleep(POLL_MS);
    assert.deepEqual(stillThere(), [], 'the files are deleted');
    await expectFilesMatch(keptPath, source); // the other copy is not the engine's any more: untouched

    // A hash the engine does not have: nothing to do, no error.
    await adapter.remove(infoHash, { deleteData: true });
    await adapter.remove('0123456789abcdef0123456789abcdef01234567', { deleteData: false });
  });

  test('adding a torrent the engine already has resolves', async () => {
    const source = await swarm('Twice Movie', [{ path: 'twice.bin', size: 64 * KIB }]);
    const request = {
      infoHash: source.infoHash,
      torrentFile: source.torrentFile,
      savePath: path.join(daemon.downloadDir, 'twice-job'),
      sequential: false,
    };
    await adapter.add(request);
    await adapter.add(request);
    await adapter.add({ ...request, torrentFile: undefined, magnetURI: source.magnetURI });
  });

  test('a wrong password is engine_auth_failed, and no message holds a password', async () => {
    const wrongPassword = 'not-the-password-42';
    const wrong = newAdapter({ password: wrongPassword });
    for (const attempt of [() => wrong.connect(), () => wrong.version(), () => wrong.sync()]) {
      await assert.rejects(attempt(), (error) => {
        assert.ok(isChillyError(error, 'engine_auth_failed'), `engine_auth_failed, got ${String(error)}`);
        const text = `${error.message} ${String((error.cause as Error | undefined)?.message)} ${JSON.stringify(error)}`;
        assert.ok(!text.includes(wrongPassword) && !text.includes(daemon.password), `no password in: ${text}`);
        return true;
      });
    }
    // The right password still works afterwards: failed sign-ins did not ban 127.0.0.1 here.
    await newAdapter().connect();
  });

  test('an address nothing listens on is engine_unreachable', async () => {
    const nobody = newAdapter({ url: `http://127.0.0.1:${await freeLoopbackPort()}` });
    await assert.rejects(nobody.connect(), (error) => {
      assert.ok(isChillyError(error, 'engine_unreachable'), `engine_unreachable, got ${String(error)}`);
      assert.match(error.message, /connection refused/);
      return true;
    });
  });

  test('a stand-in server: no answer in time and 5xx are engine_unreachable, 403 is engine_auth_failed', async () => {
    // What qBittorrent does not do on demand: hang, fail, ban. A loopback HTTP server plays it.
    let answer: 'hang' | 503 | 403 = 'hang';
    const hanging = new Set<ServerResponse>();
    const server = createServer((_request, response) => {
      if (answer === 'hang') {
        hanging.add(response);
        return;
      }
      const body =
        answer === 403 ? 'Your IP address has been banned after too many failed authentication attempts.' : '';
      response.writeHead(answer, { 'content-type': 'text/plain' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    const secret = 'stand-in-secret';
    const standIn = new QBittorrentAdapter({ url: `http://127.0.0.1:${port}`, password: secret, timeoutMs: 300 });
    try {
      await assert.rejects(standIn.connect(), (error) => {
        assert.ok(isChillyError(error, 'engine_unreachable'), String(error));
        assert.match(error.message, /no answer within 300 ms/);
        return true;
      });
      answer = 503;
      await assert.rejects(standIn.connect(), (error) => isChillyError(error, 'engine_unreachable'));
      answer = 403;
      await assert.rejects(standIn.connect(), (error) => {
        assert.ok(isChillyError(error, 'engine_auth_failed'), String(error));
        assert.match(error.message, /banned/);
        assert.ok(!error.message.includes(secret));
        return true;
      });
    } finally {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('a killed daemon is engine_unreachable; once restarted, it answers and lists the torrent again', async () => {
    const source = await swarm('Restart Movie', [{ path: 'restart.mkv', size: MIB }]);
    const savePath = path.join(daemon.downloadDir, 'restart-job');
    await adapter.add({ infoHash: source.infoHash, torrentFile: source.torrentFile, savePath, sequential: false });
    await waitForTorrent(source.infoHash, 'completed', (t) => t.status === 'completed');

    await daemon.kill();
    for (const attempt of [() => adapter.sync(), () => adapter.connect(), () => adapter.pause(source.infoHash)]) {
      await assert.rejects(attempt(), (error) => isChillyError(error, 'engine_unreachable'));
    }

    await daemon.restart();
    await adapter.connect();
    adapter.resetSync();
    const sync = await adapter.sync();
    assert.equal(sync.full, true);
    assert.ok(
      sync.torrents.some((t) => t.infoHash === source.infoHash),
      `the torrent is listed after the restart: ${JSON.stringify(sync.torrents)}`,
    );
    view.reset();
    const back = await waitForTorrent(source.infoHash, 'completed after restart', (t) => t.status === 'completed');
    assert.equal(back.savePath, savePath);
    await expectFilesMatch(savePath, source);
  });
});
