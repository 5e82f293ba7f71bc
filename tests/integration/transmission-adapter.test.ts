// The Transmission adapter against a real transmission-daemon (Debian's 3.00) on loopback, fed by a
// loopback swarm (tracker + WebTorrent seeder on 127.0.0.1).
//
// How Transmission gets data here: it will not dial a peer on 127.0.0.0/8 (libtransmission/net.c
// `isMartianAddr`), but it accepts incoming connections from one, so `feedFromSeeder` makes the
// WebTorrent seeder dial the daemon's peer port (tests/helpers/transmission-daemon.ts explains).
// Transmission then sends "interested" only at its next rechoke, which runs every 10 s
// (peer-mgr.c RECHOKE_PERIOD_MSEC): a download starts up to 10 s after the seeder connects, and
// again after a resume. So each test has its own daemon and the tests run side by side.
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { isChillyError } from '../../src/domain/errors.js';
import type { EngineSync, EngineTorrent } from '../../src/downloaders/remote/engine-adapter.js';
import {
  normalizeTransmissionFiles,
  normalizeTransmissionTorrent,
  type TransmissionTorrentFields,
} from '../../src/downloaders/transmission/normalize-transmission.js';
import { TransmissionAdapter } from '../../src/downloaders/transmission/transmission-adapter.js';
import { createLoopbackSwarm, type LoopbackSwarm, sha256File } from '../helpers/loopback-swarm.js';
import { freeLoopbackPort } from '../helpers/ports.js';
import {
  feedFromSeeder,
  findTransmissionDaemon,
  startTransmissionDaemon,
  TRANSMISSION_MISSING,
  type TransmissionDaemon,
} from '../helpers/transmission-daemon.js';
import { sleep, tempDir, waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;
/** Room for one 10 s rechoke wait, the transfer, and a slow machine. */
const DOWNLOAD_TIMEOUT_MS = 40_000;
const installed = (await findTransmissionDaemon()) !== null;

/** What a driver on top would keep: the engine's torrents, updated by full and incremental syncs. */
class EngineView {
  readonly torrents = new Map<string, EngineTorrent>();
  readonly syncs: EngineSync[] = [];

  constructor(private readonly adapter: TransmissionAdapter) {}

  async refresh(): Promise<EngineSync> {
    const sync = await this.adapter.sync();
    this.syncs.push(sync);
    if (sync.full) this.torrents.clear();
    for (const torrent of sync.torrents) this.torrents.set(torrent.infoHash, torrent);
    for (const hash of sync.removed) this.torrents.delete(hash);
    return sync;
  }

  async waitFor(
    hash: string,
    what: string,
    predicate: (torrent: EngineTorrent) => boolean,
    timeoutMs = DOWNLOAD_TIMEOUT_MS,
  ): Promise<EngineTorrent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.refresh();
      const torrent = this.torrents.get(hash);
      if (torrent !== undefined && predicate(torrent)) return torrent;
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(torrent)}`);
      }
      await sleep(200);
    }
  }
}

interface Harness {
  daemon: TransmissionDaemon;
  adapter: TransmissionAdapter;
  view: EngineView;
  /** Closed with the harness. */
  swarm(options: Parameters<typeof createLoopbackSwarm>[0]): Promise<LoopbackSwarm>;
  /** Makes the swarm's seeder dial the daemon until the harness closes. */
  feed(swarm: LoopbackSwarm): void;
}

/** A daemon of its own, an adapter on it, swarms; all closed after `body`, the daemon's log added to a failure. */
async function withDaemon(body: (harness: Harness) => Promise<void>): Promise<void> {
  const work = await tempDir('chilly-transmission-');
  const swarms: LoopbackSwarm[] = [];
  const stopFeeding: Array<() => void> = [];
  let daemon: TransmissionDaemon | undefined;
  let adapter: TransmissionAdapter | undefined;
  try {
    daemon = await startTransmissionDaemon({ workDir: path.join(work.dir, 'transmission') });
    const started = daemon;
    adapter = new TransmissionAdapter({
      url: started.url,
      username: started.username,
      password: started.password,
      timeoutMs: 5_000,
    });
    await body({
      daemon: started,
      adapter,
      view: new EngineView(adapter),
      swarm: async (options) => {
        const swarm = await createLoopbackSwarm({ workDir: path.join(work.dir, `swarm-${swarms.length}`), ...options });
        swarms.push(swarm);
        return swarm;
      },
      feed: (swarm) => {
        if (swarm.seederTorrent === undefined) throw new Error('the swarm has no seeder running');
        stopFeeding.push(feedFromSeeder(swarm.seederTorrent, started));
      },
    });
  } catch (error) {
    const log = daemon?.log() ?? '';
    throw new Error(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n--- transmission-daemon log ---\n${log.slice(-6_000)}`,
      {
        cause: error,
      },
    );
  } finally {
    for (const stop of stopFeeding) stop();
    await adapter?.close();
    try {
      await daemon?.stop();
    } finally {
      for (const swarm of swarms) await swarm.close();
      await work.cleanup();
    }
  }
}

async function assertFilesMatch(saveDir: string, files: LoopbackSwarm['files']): Promise<void> {
  for (const file of files) {
    assert.equal(await sha256File(path.join(saveDir, file.path)), file.sha256, `content of ${file.path}`);
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

function rejectsWith(code: string, check?: (message: string) => void): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isChillyError(error), `expected a ChillyError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    check?.(error.message);
    return true;
  };
}

describe('TransmissionAdapter against transmission-daemon on loopback', {
  skip: installed ? false : TRANSMISSION_MISSING,
  concurrency: true,
}, () => {
  test('a .torrent is added running, downloaded byte for byte, synced incrementally, removed keeping its data', async () => {
    await withDaemon(async ({ daemon, adapter, view, swarm: newSwarm, feed }) => {
      const swarm = await newSwarm({
        name: 'Sintel.2010',
        files: [
          { path: 'Sintel.2010.mkv', size: 3 * MiB + 123 },
          { path: 'Subs/Sintel.2010.en.srt', size: 40_000 },
        ],
      });
      const savePath = path.join(daemon.downloadDir, 'sintel');
      await adapter.connect();
      assert.match(await adapter.version(), /^3\.\d+/);
      assert.equal(await adapter.defaultSavePath(), daemon.downloadDir);
      assert.deepEqual(await view.refresh(), { full: true, torrents: [], removed: [] });

      await adapter.add({ infoHash: swarm.infoHash, torrentFile: swarm.torrentFile, savePath, sequential: false });
      const first = await view.refresh();
      assert.equal(first.full, false);
      const added = first.torrents.find((t) => t.infoHash === swarm.infoHash);
      assert.ok(added, 'the torrent shows in the sync after add()');
      // Right after torrent-add, 3.00 checks the (absent) files first: status 2 "checking".
      assert.ok(['verifying', 'downloading', 'queued', 'stalled'].includes(added.status), added.status);
      assert.equal(added.savePath, savePath, 'downloadDir comes back verbatim');
      assert.equal(added.hasMetadata, true);
      assert.equal(added.bytesTotal, 3 * MiB + 123 + 40_000);
      assert.equal(added.name, 'Sintel.2010');
      // File names include the torrent's top folder, as the swarm lays them out.
      const files = await adapter.files(swarm.infoHash);
      assert.deepEqual(
        files.map((f) => [f.path, f.length, f.wanted]),
        swarm.files.map((f) => [f.path, f.length, true]),
      );

      feed(swarm);
      const done = await view.waitFor(swarm.infoHash, 'completed', (t) => t.status === 'completed');
      assert.equal(done.bytesDone, done.bytesTotal);
      assert.equal(done.etaSeconds, null);
      await assertFilesMatch(savePath, swarm.files);
      assert.ok((await adapter.files(swarm.infoHash)).every((f) => f.bytesDone === f.length));

      // Incremental: nothing new happened, nothing was removed.
      const quiet = await view.refresh();
      assert.equal(quiet.full, false);
      assert.deepEqual(quiet.removed, []);
      assert.ok(quiet.torrents.every((t) => t.infoHash === swarm.infoHash));

      // Adding it again is not an error (3.00 answers "duplicate torrent").
      await adapter.add({ infoHash: swarm.infoHash, torrentFile: swarm.torrentFile, savePath, sequential: false });

      await adapter.remove(swarm.infoHash, { deleteData: false });
      const afterRemove = await view.refresh();
      assert.equal(afterRemove.full, false);
      assert.deepEqual(afterRemove.removed, [swarm.infoHash]);
      assert.ok(!afterRemove.torrents.some((t) => t.infoHash === swarm.infoHash));
      // Transmission lists a removal for 60 s; the adapter reports it once.
      assert.deepEqual((await view.refresh()).removed, []);
      await assertFilesMatch(savePath, swarm.files);
      // A hash the engine does not have: removing it is not an error.
      await adapter.remove('0123456789abcdef0123456789abcdef01234567', { deleteData: true });
      await assert.rejects(adapter.files(swarm.infoHash), rejectsWith('download_failed'));
    });
  });

  test('a magnet gets its metadata from the seeder, then the data; remove with deleteData deletes it', async () => {
    await withDaemon(async ({ daemon, adapter, view, swarm: newSwarm, feed }) => {
      const swarm = await newSwarm({
        name: 'Big.Buck.Bunny.2008.mkv',
        files: [{ path: 'Big.Buck.Bunny.2008.mkv', size: 2 * MiB + 7 }],
      });
      const savePath = daemon.downloadDir;
      await adapter.add({ infoHash: swarm.infoHash, magnetURI: swarm.magnetURI, savePath, sequential: false });
      const before = await view.waitFor(swarm.infoHash, 'the magnet to show', () => true, 5_000);
      assert.equal(before.hasMetadata, false);
      assert.equal(before.bytesTotal, null);
      assert.equal(before.bytesDone, 0);
      assert.equal(before.status, 'verifying', 'fetching metadata');
      assert.deepEqual(await adapter.files(swarm.infoHash), []);

      feed(swarm);
      const done = await view.waitFor(swarm.infoHash, 'completed', (t) => t.status === 'completed');
      assert.equal(done.hasMetadata, true);
      assert.equal(done.bytesTotal, 2 * MiB + 7);
      assert.equal(done.name, 'Big.Buck.Bunny.2008.mkv');
      // A single-file torrent's file is just its name, straight in the save folder.
      assert.deepEqual(
        (await adapter.files(swarm.infoHash)).map((f) => f.path),
        ['Big.Buck.Bunny.2008.mkv'],
      );
      await assertFilesMatch(savePath, swarm.files);

      await adapter.remove(swarm.infoHash, { deleteData: true });
      const file = path.join(savePath, 'Big.Buck.Bunny.2008.mkv');
      await waitUntil(async () => !(await exists(file)), { timeoutMs: 5_000, what: 'the data to be deleted' });
      assert.deepEqual((await view.refresh()).removed, [swarm.infoHash]);
    });
  });

  test('pause stops the transfer and reads as paused; resume finishes it; sequential is refused, not faked', async () => {
    await withDaemon(async ({ daemon, adapter, view, swarm: newSwarm, feed }) => {
      // A slow seeder keeps the download in flight long enough to pause it.
      const swarm = await newSwarm({
        name: 'Elephants.Dream.2006.mkv',
        files: [{ path: 'Elephants.Dream.2006.mkv', size: 4 * MiB }],
        uploadLimit: 256 * 1024,
      });
      const savePath = path.join(daemon.downloadDir, 'elephants');
      await adapter.add({ infoHash: swarm.infoHash, torrentFile: swarm.torrentFile, savePath, sequential: false });
      feed(swarm);
      await view.waitFor(swarm.infoHash, 'some verified data', (t) => t.bytesDone > 0 && t.status === 'downloading');

      await adapter.pause(swarm.infoHash);
      const paused = await view.waitFor(swarm.infoHash, 'paused', (t) => t.status === 'paused', 5_000);
      assert.ok(paused.bytesDone < 4 * MiB, 'paused before the end');
      await sleep(1_500);
      const later = await view.waitFor(swarm.infoHash, 'still paused', (t) => t.status === 'paused', 5_000);
      assert.equal(later.bytesDone, paused.bytesDone, 'no data while paused');
      assert.equal(later.downloadSpeed, 0);
      assert.equal(later.etaSeconds, null);
      // With rename-partial-files (on by default) an unfinished file is `<name>.part` on disk; the
      // RPC names it without the suffix. Stopping flushes Transmission's write cache.
      const file = path.join(savePath, 'Elephants.Dream.2006.mkv');
      await waitUntil(() => exists(`${file}.part`), { timeoutMs: 5_000, what: 'the .part file' });
      assert.equal(await exists(file), false);

      await adapter.setSequential(swarm.infoHash, false);
      await assert.rejects(
        adapter.setSequential(swarm.infoHash, true),
        rejectsWith('capability_unsupported', (message) => assert.match(message, /Transmission/)),
      );
      assert.equal(adapter.capabilities.sequentialPieces, false);

      swarm.seeder?.throttleUpload(-1);
      await adapter.resume(swarm.infoHash);
      await view.waitFor(swarm.infoHash, 'completed after resume', (t) => t.status === 'completed');
      await assertFilesMatch(savePath, swarm.files);
      assert.equal(await exists(`${file}.part`), false);
    });
  });

  test('setWantedFiles: unwanted files are not downloaded, and come when wanted again', async () => {
    await withDaemon(async ({ daemon, adapter, view, swarm: newSwarm, feed }) => {
      // Files of whole pieces, so no piece is shared between a wanted and an unwanted file.
      const pieceLength = 32 * 1024;
      const swarm = await newSwarm({
        name: 'Tears.of.Steel.2012',
        files: [
          { path: 'Tears.of.Steel.2012.mkv', size: 1 * MiB },
          { path: 'Extras/Making.Of.mkv', size: 1 * MiB },
          { path: 'Tears.of.Steel.2012.srt', size: 2 * pieceLength },
        ],
        pieceLength,
        seeder: false, // no data until the selection is made
      });
      const savePath = path.join(daemon.downloadDir, 'tears');
      await adapter.add({ infoHash: swarm.infoHash, torrentFile: swarm.torrentFile, savePath, sequential: false });
      // Indexes are in the torrent's order, which is not the order the swarm was described in:
      // create-torrent sorts the paths ("Extras/…" comes first).
      const order = (await adapter.files(swarm.infoHash)).map((f) => f.path);
      const extras = order.indexOf('Tears.of.Steel.2012/Extras/Making.Of.mkv');
      assert.deepEqual(order.length, 3);
      assert.notEqual(extras, -1, order.join(', '));
      const wanted = [0, 1, 2].filter((index) => index !== extras);
      await adapter.setWantedFiles(swarm.infoHash, wanted, 3);
      assert.deepEqual(
        (await adapter.files(swarm.infoHash)).map((f) => f.wanted),
        [0, 1, 2].map((index) => index !== extras),
      );
      const selected = await view.waitFor(swarm.infoHash, 'the selection', () => true, 5_000);
      assert.equal(selected.bytesTotal, 1 * MiB + 2 * pieceLength, 'bytesTotal counts the wanted files only');
      await assert.rejects(adapter.setWantedFiles(swarm.infoHash, [3], 3), rejectsWith('validation_failed'));

      await swarm.startSeeder();
      feed(swarm);
      const done = await view.waitFor(swarm.infoHash, 'the wanted files', (t) => t.status === 'completed');
      assert.equal(done.bytesDone, 1 * MiB + 2 * pieceLength);
      await assertFilesMatch(
        savePath,
        swarm.files.filter((f) => !f.path.includes('Extras')),
      );
      const extrasFile = (await adapter.files(swarm.infoHash))[extras];
      assert.equal(extrasFile?.bytesDone, 0, 'nothing of the unwanted file');
      assert.equal(await exists(path.join(savePath, 'Tears.of.Steel.2012/Extras/Making.Of.mkv')), false);

      await adapter.setWantedFiles(swarm.infoHash, null, 3);
      assert.ok((await adapter.files(swarm.infoHash)).every((f) => f.wanted));
      const all = await view.waitFor(
        swarm.infoHash,
        'every file',
        (t) => t.status === 'completed' && t.bytesTotal === 2 * MiB + 2 * pieceLength,
      );
      assert.equal(all.bytesDone, all.bytesTotal);
      await assertFilesMatch(savePath, swarm.files);
    });
  });

  test('a wrong password is engine_auth_failed; a refusal is download_failed; a killed daemon is engine_unreachable until it is back', async () => {
    await withDaemon(async ({ daemon, adapter, view, swarm: newSwarm }) => {
      const wrong = new TransmissionAdapter({
        url: daemon.url,
        username: daemon.username,
        password: 'not-the-password-7x',
      });
      await assert.rejects(
        wrong.connect(),
        rejectsWith('engine_auth_failed', (message) => {
          assert.ok(!message.includes('not-the-password-7x') && !message.includes(daemon.password), message);
        }),
      );
      await assert.rejects(
        adapter.add({
          infoHash: 'a'.repeat(40),
          torrentFile: Buffer.from('not a torrent'),
          savePath: daemon.downloadDir,
          sequential: false,
        }),
        rejectsWith('download_failed', (message) => assert.match(message, /invalid or corrupt torrent file/)),
      );

      const swarm = await newSwarm({
        name: 'Cosmos.Laundromat.2015.mkv',
        files: [{ path: 'Cosmos.Laundromat.2015.mkv', size: 256 * 1024 }],
        seeder: false,
      });
      const savePath = path.join(daemon.downloadDir, 'cosmos');
      await adapter.add({ infoHash: swarm.infoHash, torrentFile: swarm.torrentFile, savePath, sequential: false });
      await view.waitFor(swarm.infoHash, 'the torrent', () => true, 5_000);

      await daemon.kill();
      await assert.rejects(
        adapter.sync(),
        rejectsWith('engine_unreachable', (m) => assert.match(m, /ECONNREFUSED/)),
      );
      await assert.rejects(adapter.connect(), rejectsWith('engine_unreachable'));

      await daemon.restart();
      await adapter.connect();
      // The restarted daemon hands out a new session id, and the adapter reads everything again
      // (torrent ids are renumbered) even before being told to.
      const afterRestart = await adapter.sync();
      assert.equal(afterRestart.full, true);
      // 3.00 answers RPC before it has loaded its torrents: now and then its first list after a
      // start is empty (2 of 30 starts here), which is why RemoteEngineDownloader waits before it
      // takes a missing torrent as removed (missingForMs).
      let back: EngineTorrent | undefined;
      for (const deadline = Date.now() + 10_000; back === undefined && Date.now() < deadline; await sleep(100)) {
        adapter.resetSync();
        back = (await adapter.sync()).torrents.find((t) => t.infoHash === swarm.infoHash);
      }
      assert.ok(back, 'the torrent is there after the restart');
      // Killed before it wrote the torrent's resume file (3.00 writes it when the torrent stops,
      // when the daemon shuts down, and every 6 minutes: session.c SAVE_INTERVAL_SECS), it reloads
      // the .torrent it kept but not the folder it was given: the torrent is back in the default one.
      assert.equal(back.savePath, daemon.downloadDir);
      await adapter.remove(swarm.infoHash, { deleteData: true });
      assert.deepEqual((await view.refresh()).removed, [swarm.infoHash]);
    });
  });
});

describe('TransmissionAdapter when nothing sensible answers', { concurrency: true }, () => {
  test('a refused connection, a timeout, a 5xx and a wrong path are engine_unreachable; a URL password is never shown', async () => {
    const port = await freeLoopbackPort();
    const refused = new TransmissionAdapter({ url: `http://chilly:url-secret-9@127.0.0.1:${port}/transmission/rpc` });
    await assert.rejects(
      refused.connect(),
      rejectsWith('engine_unreachable', (message) => {
        assert.match(message, /ECONNREFUSED/);
        assert.ok(!message.includes('url-secret-9'), message);
      }),
    );

    // Accepts connections, never answers.
    const sockets = new Set<Socket>();
    const silent = createTcpServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const http = createHttpServer((request, response) => {
      response.statusCode = request.url === '/transmission/rpc' ? 500 : 404;
      response.end('<h1>broken</h1>');
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const silentPort = (silent.address() as { port: number }).port;
      const slow = new TransmissionAdapter({ url: `http://127.0.0.1:${silentPort}/transmission/rpc`, timeoutMs: 300 });
      await assert.rejects(
        slow.sync(),
        rejectsWith('engine_unreachable', (m) => assert.match(m, /within 300 ms/)),
      );

      const httpPort = (http.address() as { port: number }).port;
      const failing = new TransmissionAdapter({ url: `http://127.0.0.1:${httpPort}/transmission/rpc` });
      await assert.rejects(
        failing.version(),
        rejectsWith('engine_unreachable', (m) => assert.match(m, /HTTP 500/)),
      );
      const wrongPath = new TransmissionAdapter({ url: `http://127.0.0.1:${httpPort}/rpc` });
      await assert.rejects(
        wrongPath.connect(),
        rejectsWith('engine_unreachable', (m) => assert.match(m, /HTTP 404/)),
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });
});

describe('the Transmission mappers (no daemon)', () => {
  const raw: TransmissionTorrentFields = {
    id: 7,
    hashString: 'AB'.repeat(20),
    name: 'Sintel.2010',
    status: 4,
    error: 0,
    errorString: '',
    downloadDir: '/srv/films/',
    metadataPercentComplete: 1,
    sizeWhenDone: 1_000,
    leftUntilDone: 400,
    haveValid: 500,
    rateDownload: 100,
    rateUpload: 20,
    uploadedEver: 30,
    downloadedEver: 650,
    peersConnected: 3,
    eta: 4,
  };
  const moving = { secondsWithoutData: 0 };
  const map = (patch: Partial<TransmissionTorrentFields>, seen = moving) =>
    normalizeTransmissionTorrent({ ...raw, ...patch }, seen);

  test('status numbers (rpc-spec 3.3) become job statuses', () => {
    assert.equal(map({ status: 0 }).status, 'paused');
    assert.equal(map({ status: 0, leftUntilDone: 0 }).status, 'completed', 'stopped with all its data');
    assert.equal(map({ status: 1 }).status, 'verifying');
    assert.equal(map({ status: 2 }).status, 'verifying');
    assert.equal(map({ status: 3 }).status, 'queued');
    assert.equal(map({ status: 4 }).status, 'downloading');
    assert.equal(map({ status: 4 }, { secondsWithoutData: 30 }).status, 'stalled');
    assert.equal(map({ status: 4, leftUntilDone: 0 }).status, 'completed');
    assert.equal(map({ status: 5 }).status, 'completed');
    assert.equal(map({ status: 6, leftUntilDone: 0 }).status, 'completed');
    // A tracker error leaves the torrent running; a local error stops it.
    assert.equal(map({ error: 2, errorString: 'Tracker gave HTTP response code 404' }).status, 'downloading');
    const failed = map({ status: 0, error: 3, errorString: 'No data found! Ensure your drives are connected' });
    assert.equal(failed.status, 'error');
    assert.equal(failed.errorMessage, 'No data found! Ensure your drives are connected');
  });

  test('sizes, speeds and a magnet without metadata', () => {
    const downloading = map({});
    assert.equal(downloading.infoHash, 'ab'.repeat(20));
    assert.equal(downloading.savePath, '/srv/films/');
    assert.deepEqual(
      [
        downloading.bytesDone,
        downloading.bytesTotal,
        downloading.downloadSpeed,
        downloading.etaSeconds,
        downloading.peers,
      ],
      [500, 1_000, 100, 4, 3],
    );
    assert.equal(map({ leftUntilDone: 0, haveValid: 990 }).bytesDone, 1_000, 'done is done');
    assert.equal(map({ eta: -1 }).etaSeconds, null);
    const stopped = map({ status: 0 });
    assert.deepEqual([stopped.downloadSpeed, stopped.uploadSpeed, stopped.etaSeconds], [0, 0, null]);
    // While a magnet fetches its info dict, Transmission says "downloading" with sizes of 0.
    const magnet = map({ metadataPercentComplete: 0.5, sizeWhenDone: 0, leftUntilDone: 0, haveValid: 0, name: 'abab' });
    assert.deepEqual(
      [magnet.status, magnet.hasMetadata, magnet.bytesTotal, magnet.bytesDone],
      ['verifying', false, null, 0],
    );
  });

  test('files keep their torrent paths and wanted flags', () => {
    assert.deepEqual(
      normalizeTransmissionFiles(
        [
          { name: 'Sintel.2010/Sintel.2010.mkv', length: 100, bytesCompleted: 40 },
          { name: 'Sintel.2010/Subs/en.srt', length: 10, bytesCompleted: 0 },
        ],
        [
          { wanted: true, priority: 0, bytesCompleted: 40 },
          { wanted: false, priority: 0, bytesCompleted: 0 },
        ],
      ),
      [
        { path: 'Sintel.2010/Sintel.2010.mkv', length: 100, bytesDone: 40, wanted: true },
        { path: 'Sintel.2010/Subs/en.srt', length: 10, bytesDone: 0, wanted: false },
      ],
    );
  });
});
