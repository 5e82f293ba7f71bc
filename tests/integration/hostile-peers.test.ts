/**
 * Issue 12, finding 2: "Any peer in a magnet's swarm can crash it." A scripted hostile peer
 * (tests/helpers/malicious-peer.ts) joins a loopback swarm and sends what no honest peer sends;
 * our WebTorrentDownloader must stay up, drop that peer, not connect to it again, and still
 * download the torrent byte for byte from the good seeder.
 *
 * The good seeder joins only once the hostile peer has had its go: with a magnet the hostile
 * ut_metadata messages must arrive while the victim is still fetching metadata (afterwards they
 * are ignored), so the order is fixed rather than left to a race.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import bencode from 'bencode';
import WebTorrent from 'webtorrent';
import type { Job } from '../../src/domain/job.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import {
  createLoopbackSwarm,
  LOOPBACK_CLIENT_OPTIONS,
  type LoopbackSwarm,
  sha256File,
} from '../helpers/loopback-swarm.js';
import {
  type HostileConnection,
  type HostileScript,
  MaliciousPeer,
  MessageId,
  UtMetadata,
} from '../helpers/malicious-peer.js';
import { sleep, tempDir, waitForEvent } from '../helpers/wait.js';

const MiB = 1024 * 1024;
/** How long the victim has to hang up on the hostile peer. */
const DROP_TIMEOUT_MS = 10_000;
/**
 * After the download: longer than WebTorrent's first reconnect delay (1 s, RECONNECT_WAIT) and the
 * 'completed' announce, whose reply lists the hostile peer again.
 */
const RECONNECT_WINDOW_MS = 1_500;

interface Scenario {
  /** A .torrent gives the victim its metadata at once (data-phase cases); a magnet makes it fetch it. */
  source: 'magnet' | 'torrent';
  /**
   * The extended handshake the hostile peer sends, given the true size of the info dictionary;
   * default `{ m: { ut_metadata: 3 }, metadata_size }`.
   */
  extendedHandshake?: (metadataSize: number) => Record<string, unknown>;
  script: (connection: HostileConnection, metadataSize: number) => Promise<void>;
  /** Sample this process's RSS every 50 ms while the script runs. */
  measureRss?: boolean;
}

interface ScenarioResult {
  hostile: MaliciousPeer;
  connection: HostileConnection;
  dropped: boolean;
  /** Peak RSS during the script minus RSS just before it (bytes); undefined unless measured. */
  rssGrowth: number | undefined;
}

describe('hostile peers on a loopback swarm', { timeout: 240_000 }, () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    work = await tempDir('chilly-hostile-');
  });
  after(async () => {
    await work.cleanup();
  });

  /**
   * Runs one scenario end to end and checks what every hostile case must hold: the victim drops
   * the hostile connection and does not make it again, the job never fails, and the download
   * completes byte for byte from the good seeder.
   */
  async function runScenario(t: TestContext, name: string, scenario: Scenario): Promise<ScenarioResult> {
    const swarm = await createLoopbackSwarm({
      name: `${name}.bin`,
      files: [{ path: `${name}.bin`, size: 1 * MiB }],
      pieceLength: 16 * 1024,
      seeder: false,
      workDir: path.join(work.dir, `${name}-swarm`),
    });
    const metadataSize = infoDictionaryLength(swarm);
    let hostile: MaliciousPeer | undefined;
    const downloader = new WebTorrentDownloader({
      mediaRoot: path.join(work.dir, `${name}-media`),
      network: 'loopback',
    });
    const downloadErrors: unknown[] = [];
    downloader.on('error', (error) => downloadErrors.push(error));
    const uncaught = captureUncaught();
    let sampler: NodeJS.Timeout | undefined;
    try {
      let rssBefore = 0;
      let rssPeak = 0;
      const script: HostileScript = async (connection) => {
        if (scenario.measureRss === true && connection === hostile?.connections[0]) {
          rssBefore = process.memoryUsage().rss;
          rssPeak = rssBefore;
          sampler = setInterval(() => {
            rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
          }, 50);
        }
        try {
          await scenario.script(connection, metadataSize);
        } finally {
          if (sampler !== undefined) {
            // One more sample after the last write has been read.
            await sleep(200);
            rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
            clearInterval(sampler);
            sampler = undefined;
          }
        }
      };
      hostile = await MaliciousPeer.start({
        infoHash: swarm.infoHash,
        // By default an honest-looking offer of the metadata, so the victim asks this peer for it.
        extendedHandshake: scenario.extendedHandshake?.(metadataSize) ?? {
          m: { ut_metadata: 3 },
          metadata_size: metadataSize,
        },
        script,
      });
      await hostile.announce(swarm.announceUrl);

      const completed = waitForEvent<[Job]>(downloader, 'completed', { timeoutMs: 60_000 });
      completed.catch(() => undefined); // awaited below; a crash before then must not add an unhandled rejection
      const id = `hostile-${name}`;
      await downloader.start(
        scenario.source === 'magnet'
          ? { id, sourceType: 'torrent', sourceUrn: swarm.magnetURI }
          : { id, sourceType: 'torrent', torrentFile: swarm.torrentFile },
      );

      const connection = await hostile.waitForConnection(0);
      const dropped = await connection.waitClosed(DROP_TIMEOUT_MS);
      const rssGrowth = scenario.measureRss === true ? rssPeak - rssBefore : undefined;
      if (rssGrowth !== undefined) {
        t.diagnostic(
          `RSS before ${mib(rssBefore)}, peak ${mib(rssPeak)} (+${mib(rssGrowth)}); ` +
            `hostile peer got ${mib(connection.bytesSent)} onto the socket`,
        );
      }
      assert.deepEqual(uncaught.errors, [], 'the process would have died');
      assert.deepEqual(hostile.scriptErrors, [], 'the hostile script ran to the end or until dropped');
      assert.ok(dropped, `the victim did not drop the hostile peer within ${DROP_TIMEOUT_MS} ms`);

      await swarm.startSeeder();
      const [job] = await completed;
      for (const file of swarm.files) {
        assert.equal(await sha256File(path.join(downloader.jobFolder(id), file.path)), file.sha256, file.path);
      }
      await sleep(RECONNECT_WINDOW_MS);
      const victim = connection.remotePeerId;
      assert.ok(victim !== undefined);
      assert.equal(hostile.connectionsFrom(victim), 1, 'the victim connected to the hostile peer again');
      assert.equal(job.status, 'completed');
      assert.equal(downloader.get(id)?.error, undefined);
      assert.deepEqual(downloadErrors, []);
      assert.deepEqual(hostile.scriptErrors, []);
      assert.deepEqual(uncaught.errors, []);
      return { hostile, connection, dropped, rssGrowth };
    } finally {
      uncaught.stop();
      if (sampler !== undefined) clearInterval(sampler);
      await downloader.destroy();
      await hostile?.close();
      await swarm.close();
    }
  }

  // ── metadata phase (magnet): ut_metadata messages while the victim fetches the info dictionary ──

  test('ut_metadata data for piece 1000 (far past the end)', async (t) => {
    await runScenario(t, 'piece-1000', {
      source: 'magnet',
      script: async (connection, size) => {
        await connection.utMetadata({ msg_type: UtMetadata.data, piece: 1000, total_size: size }, Buffer.alloc(100));
      },
    });
  });

  test('ut_metadata data for piece -1', async (t) => {
    await runScenario(t, 'piece-minus-1', {
      source: 'magnet',
      script: async (connection, size) => {
        await connection.utMetadata({ msg_type: UtMetadata.data, piece: -1, total_size: size }, Buffer.alloc(100));
      },
    });
  });

  test('ut_metadata data before any metadata_size', async (t) => {
    await runScenario(t, 'data-before-size', {
      source: 'magnet',
      // ut_metadata, but no metadata_size: the victim has no buffer to put data in.
      extendedHandshake: () => ({ m: { ut_metadata: 3 } }),
      script: async (connection) => {
        await connection.utMetadata({ msg_type: UtMetadata.data, piece: 0 }, Buffer.alloc(100));
      },
    });
  });

  test('ut_metadata data of the wrong size for its piece', async (t) => {
    await runScenario(t, 'wrong-piece-size', {
      source: 'magnet',
      script: async (connection, size) => {
        // The info dictionary fits one 16 KiB piece, so piece 0 must be exactly `size` bytes.
        await connection.utMetadata({ msg_type: UtMetadata.data, piece: 0, total_size: size }, Buffer.alloc(size - 1));
      },
    });
  });

  test('a flood of ut_metadata rejects', async (t) => {
    await runScenario(t, 'reject-flood', {
      source: 'magnet',
      script: async (connection) => {
        for (let i = 0; i < 2_000 && !connection.isClosed; i++) {
          await connection.utMetadata({ msg_type: UtMetadata.reject, piece: 0 });
        }
      },
    });
  });

  test('a ut_metadata request from a peer that never announced ut_metadata', async (t) => {
    await runScenario(t, 'request-unannounced', {
      source: 'magnet',
      // No ut_metadata in `m`: the victim has no id to answer this peer with.
      extendedHandshake: () => ({ m: {} }),
      script: async (connection) => {
        await connection.utMetadata({ msg_type: UtMetadata.request, piece: 0 });
      },
    });
  });

  // ── data phase (.torrent): framing the wire must not trust ──

  test('a length prefix claiming 2 GiB, then 20 MB: nothing buffered, peak RSS measured', async (t) => {
    const { connection, rssGrowth } = await runScenario(t, 'claim-2gib', {
      source: 'torrent',
      measureRss: true,
      script: async (connection) => {
        // 2^31 - 1: the largest length bittorrent-protocol 4.1.21 reads as positive (it reads
        // lengths as signed 32-bit integers; 2^31 itself came out negative, as a keep-alive).
        await connection.message(MessageId.piece, new Uint8Array(), 2 ** 31 - 1);
        await connection.sendFiller(20 * 1000 * 1000);
      },
    });
    assert.ok(rssGrowth !== undefined);
    // Generous: the victim holds at most a socket read or two, the sender one 1 MiB chunk (+0 MiB
    // measured here). Before the fix the victim kept all it was sent and re-joined it on every
    // read (+38 and +66 MiB in two runs).
    assert.ok(rssGrowth < 32 * MiB, `RSS grew by ${mib(rssGrowth)}`);
    assert.ok(connection.bytesSent < 20 * 1000 * 1000, 'the victim stopped reading before the filler was through');
  });

  test('a bitfield claiming 16 MiB (128 million pieces)', async (t) => {
    await runScenario(t, 'huge-bitfield', {
      source: 'torrent',
      script: async (connection) => {
        await connection.message(MessageId.bitfield, new Uint8Array(), 1 + 16 * MiB);
        await connection.sendFiller(16 * MiB);
      },
    });
  });

  test('a have message shorter than its id requires', async (t) => {
    await runScenario(t, 'short-have', {
      source: 'torrent',
      script: async (connection) => {
        await connection.message(MessageId.have, new Uint8Array()); // length 1: no piece index
      },
    });
  });

  test('a request message shorter than its id requires', async (t) => {
    await runScenario(t, 'short-request', {
      source: 'torrent',
      script: async (connection) => {
        await connection.message(MessageId.interested);
        await connection.message(MessageId.request, Buffer.alloc(4)); // index only: no offset, no length
      },
    });
  });

  // ── the ban itself, on the engine ──

  test('the engine bans the address: addPeer refuses it and a tracker re-announce does not bring it back', async () => {
    const swarm = await createLoopbackSwarm({
      name: 'ban.bin',
      files: [{ path: 'ban.bin', size: 256 * 1024 }],
      seeder: false,
      workDir: path.join(work.dir, 'ban-swarm'),
    });
    const metadataSize = infoDictionaryLength(swarm);
    const hostile = await MaliciousPeer.start({
      infoHash: swarm.infoHash,
      extendedHandshake: { m: { ut_metadata: 3 }, metadata_size: metadataSize },
      script: async (connection) => {
        await connection.utMetadata({ msg_type: UtMetadata.data, piece: 1000 }, Buffer.alloc(100));
      },
    });
    const client = new WebTorrent({ ...LOOPBACK_CLIENT_OPTIONS });
    client.on('error', () => undefined);
    const uncaught = captureUncaught();
    try {
      await hostile.announce(swarm.announceUrl);
      const torrent = client.add(swarm.magnetURI, { path: path.join(work.dir, 'ban-media') });
      const blocked: unknown[] = [];
      torrent.on('blockedPeer', (peer: unknown) => blocked.push(peer));
      const connection = await hostile.waitForConnection(0);
      const dropped = await connection.waitClosed(DROP_TIMEOUT_MS);
      assert.deepEqual(uncaught.errors, [], 'the process would have died');
      assert.ok(dropped, 'the engine did not drop the hostile peer');
      // What a tracker reply or a PEX message does with an address:
      assert.equal(torrent.addPeer(hostile.address), false);
      assert.deepEqual(blocked, [hostile.address]);
      // The tracker asks for announces every 5 s (startLoopbackTracker); its replies list the
      // hostile peer, and WebTorrent's own reconnect timers (1 s, 5 s) would also have fired.
      await sleep(6_500);
      assert.equal(hostile.connectionCount, 1, 'the engine connected to the banned peer again');
      assert.ok(blocked.length >= 2, 'the periodic re-announce listed the peer and was refused');
    } finally {
      uncaught.stop();
      await new Promise<void>((resolve) => client.destroy(() => resolve()));
      await hostile.close();
      await swarm.close();
    }
  });
});

/**
 * Records uncaught exceptions and unhandled rejections until `stop()`: outside the test runner
 * (which installs its own handler) any of them would have ended the process.
 */
function captureUncaught(): { errors: unknown[]; stop(): void } {
  const errors: unknown[] = [];
  const record = (error: unknown) => errors.push(error);
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  return {
    errors,
    stop() {
      process.off('uncaughtException', record);
      process.off('unhandledRejection', record);
    },
  };
}

/** Length of the bencoded info dictionary: the `metadata_size` an honest peer announces. */
function infoDictionaryLength(swarm: LoopbackSwarm): number {
  const torrent = bencode.decode(swarm.torrentFile) as { info: unknown };
  return bencode.encode(torrent.info).length;
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
