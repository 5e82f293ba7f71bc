/**
 * Small outgoing messages (requests, haves, …) leave a peer connection together (patches/
 * bittorrent-protocol+4.1.21.patch): a download makes one request per block received, and one
 * socket write each was a tenth of the engine's time on a fast link (bench/perf/README.md).
 * They wait for the end of the event loop's turn, so the requests of every block read in that
 * turn go in one write; a large message (a block we upload) first sends the small ones before it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WireConstructor from 'bittorrent-protocol';

interface TestWire {
  on(event: 'data', listener: (chunk: Uint8Array) => void): void;
  have(index: number): void;
  _push(data: Uint8Array): boolean;
  destroy(): void;
}
const Wire = WireConstructor as unknown as new () => TestWire;

/** 4-byte length, id 4, 4-byte piece index. */
const HAVE_LENGTH = 9;

function turnEnds(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('peer wire: outgoing small messages', () => {
  test('of one turn of the event loop leave in one write, across microtasks and callbacks', async () => {
    const wire = new Wire();
    const chunks: Uint8Array[] = [];
    wire.on('data', (chunk) => chunks.push(chunk));
    try {
      wire.have(1);
      await Promise.resolve();
      wire.have(2);
      await Promise.resolve();
      await Promise.resolve();
      wire.have(3);
      process.nextTick(() => wire.have(4));
      await turnEnds();
      await turnEnds();
      assert.deepEqual(
        chunks.map((chunk) => chunk.length),
        [4 * HAVE_LENGTH],
        'one write with the four haves',
      );
      const indexes = [0, 1, 2, 3].map((n) => Buffer.from(chunks[0] ?? []).readUInt32BE(n * HAVE_LENGTH + 5));
      assert.deepEqual(indexes, [1, 2, 3, 4], 'in the order they were sent');
    } finally {
      wire.destroy();
    }
  });

  test('are sent before a large message, in order', async () => {
    const wire = new Wire();
    const chunks: Uint8Array[] = [];
    wire.on('data', (chunk) => chunks.push(chunk));
    try {
      wire.have(7);
      const large = new Uint8Array(16 * 1024).fill(0xab);
      wire._push(large);
      wire.have(8);
      await turnEnds();
      await turnEnds();
      assert.deepEqual(
        chunks.map((chunk) => chunk.length),
        [HAVE_LENGTH, large.length, HAVE_LENGTH],
      );
      assert.equal(Buffer.from(chunks[0] ?? []).readUInt32BE(5), 7);
      assert.equal(chunks[1]?.[0], 0xab);
      assert.equal(Buffer.from(chunks[2] ?? []).readUInt32BE(5), 8);
    } finally {
      wire.destroy();
    }
  });
});
