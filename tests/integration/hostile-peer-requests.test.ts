/**
 * Issue 12, finding 2 ("bound every per-peer buffer"), the upload side: a peer that asks for
 * block after block and never reads the answers must not make a seeder read the torrent into
 * memory. A real seeder (WebTorrent with every public-network feature off) and a scripted peer
 * on loopback.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLoopbackSwarm } from '../helpers/loopback-swarm.js';
import { MaliciousPeer, MessageId, pieceRequests } from '../helpers/malicious-peer.js';
import { sleep, waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const BLOCK = 16 * 1024;
/**
 * The patch's bound (patches/bittorrent-protocol+4.1.21.patch): no store read starts while 16 MiB
 * of answers are unsent, and at most 256 reads of a block are in flight; one more message may be
 * queued past the mark, and the socket holds up to its own high-water mark.
 */
const HELD_BOUND = 16 * MiB + 256 * BLOCK + 2 * MiB;

/**
 * The seeder's wires: answers not sent yet (`_unsentBytes`: in the pipes, or in the TCP socket the
 * wire writes to directly while no upload limit applies) and block reads in flight.
 */
interface SeederWire {
  _unsentBytes(): number;
  readonly _readsInFlight?: number;
}

function heldForPeers(wires: readonly unknown[]): number {
  let held = 0;
  for (const wire of wires as SeederWire[]) held += wire._unsentBytes() + (wire._readsInFlight ?? 0) * BLOCK;
  return held;
}

describe('a peer that asks and never reads (finding 2)', () => {
  test('cannot make the seeder hold more than a bounded amount for it', async () => {
    const swarm = await createLoopbackSwarm({
      name: 'Payload.mkv',
      files: [{ path: 'Payload.mkv', size: 96 * MiB }],
      pieceLength: 1 * MiB,
    });
    let requested = 0;
    const hostile = await MaliciousPeer.start({
      infoHash: swarm.infoHash,
      script: async (connection) => {
        // Its bitfield first: the seeder listens for 'interested' from then on.
        await waitUntil(() => connection.receivedIds.includes(MessageId.bitfield), {
          timeoutMs: 10_000,
          what: 'the seeder bitfield',
        });
        await connection.message(MessageId.interested);
        await waitUntil(() => connection.receivedIds.includes(MessageId.unchoke), {
          timeoutMs: 10_000,
          what: 'the seeder to unchoke',
        });
        connection.stopReading();
        // 6,000 blocks: 94 MiB the seeder would read from disk and queue for a peer that reads none.
        for (let piece = 0; piece < 96 && !connection.isClosed; piece++) {
          await connection.send(pieceRequests(piece, MiB, BLOCK));
          requested += MiB / BLOCK;
        }
        await connection.waitClosed(15_000);
      },
    });
    const seeder = swarm.seederTorrent;
    assert.ok(seeder !== undefined);
    try {
      const before = process.memoryUsage().rss;
      let peak = before;
      // What the seeder holds for its peers, read off its wires (the patch's own counters and
      // buffers), every 20 ms: answers read from disk and not yet taken by the socket, plus reads
      // in flight. RSS is printed too, but it moves with the garbage collector.
      let peakHeld = 0;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
        peakHeld = Math.max(peakHeld, heldForPeers(seeder.wires));
      }, 20);
      try {
        // The seeder learns of the peer from the tracker and connects to it.
        await hostile.announce(swarm.announceUrl);
        await swarm.seederTorrent?.addPeer(hostile.address);
        await waitUntil(() => requested >= 6_000 || hostile.scriptErrors.length > 0, {
          timeoutMs: 20_000,
          what: 'the requests to go out',
        });
        await sleep(3_000);
      } finally {
        clearInterval(sampler);
      }
      const growth = peak - before;
      console.log(
        `seeder while a peer asked for 94 MiB and read nothing: held at most ${(peakHeld / MiB).toFixed(1)} MiB ` +
          `for it (bound ${(HELD_BOUND / MiB).toFixed(0)} MiB); RSS growth ${(growth / MiB).toFixed(1)} MiB`,
      );
      assert.ok(peakHeld > 4 * MiB, 'the seeder did answer (the test measured something)');
      assert.ok(peakHeld <= HELD_BOUND, `the seeder held ${(peakHeld / MiB).toFixed(1)} MiB for one peer`);
      assert.deepEqual(hostile.scriptErrors, []);
    } finally {
      await hostile.close();
      await swarm.close();
    }
  });
});
