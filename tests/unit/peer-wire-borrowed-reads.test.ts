/**
 * An outgoing connection's reads land in one buffer shared by every connection (patches/
 * webtorrent+2.8.5.patch: `net.connect`'s `onread`), which the wire parses before the next read
 * overwrites it (patches/bittorrent-protocol+4.1.21.patch: `Wire#writeBorrowed`). Whatever outlives
 * the call must be a copy: an incomplete message, a bitfield, an extended handshake, an unknown
 * message. Property-based (fast-check, fixed seed, bounded runs): any stream of messages, cut
 * anywhere, read through a buffer scrambled after each read, gives the peer's messages exactly as
 * the same chunks given to the wire to keep.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import bencode from 'bencode';
import WireConstructor from 'bittorrent-protocol';
import fc from 'fast-check';
import WebTorrentPeer from 'webtorrent/lib/peer.js';
import { cut } from '../helpers/chunks.js';

const FUZZ = { seed: 20_261_203, numRuns: 400, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: false };

interface BorrowingWire extends EventEmitter {
  readonly destroyed: boolean;
  readonly peerPieces: { buffer: Uint8Array };
  readonly peerExtendedHandshake: Record<string, unknown>;
  readonly pipedBytes: number;
  write(data: Uint8Array): boolean;
  writeBorrowed(data: Uint8Array): void;
  piped(length: number): void;
  _write(data: Uint8Array, cb: (error?: Error | null) => void): void;
  handshake(infoHash: string, peerId: string, extensions?: { dht?: boolean; fast?: boolean }): void;
  destroy(): void;
}
const Wire = WireConstructor as unknown as new (type?: string | null) => BorrowingWire;

const INFO_HASH = createHash('sha1').update('borrowed reads').digest('hex');
const OUR_PEER_ID = Buffer.from('-BR0001-ourselves!!!').toString('hex');

function frame(id: number, payload: Uint8Array): Uint8Array {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(1 + payload.length, 0);
  header[4] = id;
  return Buffer.concat([header, payload]);
}

function numbers(...values: number[]): Uint8Array {
  const out = Buffer.alloc(4 * values.length);
  values.forEach((value, i) => {
    out.writeUInt32BE(value, 4 * i);
  });
  return out;
}

function remoteHandshake(): Uint8Array {
  const reserved = Buffer.alloc(8);
  reserved[5] = 0x10; // extended messages
  reserved[7] = 0x04; // fast extension
  return Buffer.concat([
    Buffer.from('\x13BitTorrent protocol', 'latin1'),
    reserved,
    Buffer.from(INFO_HASH, 'hex'),
    Buffer.from('-BR0001-the-remote!!'),
  ]);
}

const bytes = (max: number) => fc.uint8Array({ minLength: 1, maxLength: max });

/** The messages a peer sends after its handshake, valid ones (wrong ones are peer-wire-fuzz's). */
const message = fc.oneof(
  fc.constant(Buffer.alloc(4)), // keep-alive
  fc.constantFrom(0, 1, 2, 3).map((id) => frame(id, new Uint8Array())),
  fc.nat({ max: 999 }).map((index) => frame(4, numbers(index))),
  bytes(125).map((field) => frame(5, field)),
  fc
    .tuple(fc.nat({ max: 999 }), fc.nat({ max: 15 }))
    .map(([index, block]) => frame(8, numbers(index, block * 16384, 16384))),
  fc
    .tuple(fc.nat({ max: 999 }), fc.nat({ max: 15 }), bytes(20_000))
    .map(([index, block, data]) => frame(7, Buffer.concat([numbers(index, block * 16384), data]))),
  fc.constantFrom(0x0e, 0x0f).map((id) => frame(id, new Uint8Array())),
  fc
    .tuple(fc.nat({ max: 999 }), fc.nat({ max: 15 }))
    .map(([index, block]) => frame(0x10, numbers(index, block * 16384, 16384))),
  bytes(300).map((version) =>
    frame(20, Buffer.concat([Buffer.from([0]), bencode.encode({ m: {}, v: Buffer.from(version) })])),
  ),
  fc.tuple(fc.constantFrom(10, 11, 12, 99), bytes(40)).map(([id, payload]) => frame(id, payload)),
);

/** What the wire made of the peer's messages, read after the last chunk. */
interface Seen {
  events: string[];
  /** Things a listener kept without copying: they must still hold what the peer sent. */
  kept: Uint8Array[];
  bitfield: string | undefined;
  extendedVersion: string | undefined;
  destroyed: boolean;
}

function newWire(): { wire: BorrowingWire; seen: Seen; finish: () => Seen } {
  const wire = new Wire('tcpOutgoing');
  const seen: Seen = { events: [], kept: [], bitfield: undefined, extendedVersion: undefined, destroyed: false };
  wire.on('error', () => undefined);
  wire.on('data', () => undefined);
  const hex = (data: Uint8Array) => Buffer.from(data).toString('hex');
  wire.on('have', (index: number) => seen.events.push(`have ${index}`));
  wire.on('bitfield', () => seen.events.push('bitfield'));
  wire.on('choke', () => seen.events.push('choke'));
  wire.on('unchoke', () => seen.events.push('unchoke'));
  wire.on('keep-alive', () => seen.events.push('keep-alive'));
  wire.on('have-all', () => seen.events.push('have-all'));
  wire.on('have-none', () => seen.events.push('have-none'));
  wire.on('cancel', (index: number, offset: number) => seen.events.push(`cancel ${index} ${offset}`));
  wire.on('reject', (index: number, offset: number) => seen.events.push(`reject ${index} ${offset}`));
  // A block is a view valid while its listener runs: it is read (copied) there.
  wire.on('piece', (index: number, offset: number, block: Uint8Array) =>
    seen.events.push(`piece ${index} ${offset} ${hex(block)}`),
  );
  wire.on('unknownmessage', (data: Uint8Array) => {
    seen.events.push('unknown');
    seen.kept.push(data);
  });
  wire.on('extended', (name: string) => seen.events.push(`extended ${name}`));
  wire.handshake(INFO_HASH, OUR_PEER_ID, { dht: false, fast: true });
  wire._write(remoteHandshake(), () => undefined);
  const finish = (): Seen => {
    seen.destroyed = wire.destroyed;
    seen.bitfield = wire.peerPieces === undefined ? undefined : hex(wire.peerPieces.buffer);
    const version = wire.peerExtendedHandshake?.v;
    seen.extendedVersion = version instanceof Uint8Array ? hex(version) : undefined;
    seen.kept = seen.kept.map((data) => Uint8Array.from(data));
    wire.destroy();
    return seen;
  };
  return { wire, seen, finish };
}

describe('peer wire: reads parsed from a borrowed buffer', () => {
  test('any messages, cut anywhere, read through one scrambled buffer, come out as from chunks the wire keeps', () => {
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 40 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 60 }),
        fc.integer({ min: 0, max: 255 }),
        (messages, cuts, scramble) => {
          const stream = Buffer.concat(messages);
          const chunks = cut(stream, cuts);

          const owned = newWire();
          for (const chunk of chunks) owned.wire._write(Uint8Array.from(chunk), () => undefined);
          const expected = owned.finish();

          const borrowing = newWire();
          // A Buffer, whose own slice() is a view: what the wire keeps must be copied all the same.
          const shared = Buffer.alloc(Math.max(...chunks.map((chunk) => chunk.length)));
          for (const chunk of chunks) {
            shared.set(chunk);
            borrowing.wire.writeBorrowed(shared.subarray(0, chunk.length));
            shared.fill(scramble); // the next read overwrites it
          }
          const got = borrowing.finish();

          assert.equal(got.destroyed, false, 'valid messages leave the wire alive');
          assert.deepEqual(got, expected);
        },
      ),
      FUZZ,
    );
  });

  test('bytes sent through the pipes are counted until the wire has parsed them, however the pipes cut them', async () => {
    const { wire, seen, finish } = newWire();
    const [one, two] = [frame(4, numbers(1)), frame(4, numbers(2))];
    wire.piped(one.length + two.length);
    // a throttle may pass a chunk on in slices
    wire.write(one.subarray(0, 4));
    wire.write(one.subarray(4));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(wire.pipedBytes, two.length, 'the first chunk parsed, in two slices; the second still to come');
    wire.write(two);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(wire.pipedBytes, 0, 'all parsed: reads may be parsed in place again');
    assert.deepEqual(seen.events.slice(-2), ['have 1', 'have 2']);
    finish();
  });

  test('a read waits in line behind reads still in the pipes, even once no limit applies', async () => {
    const { wire, seen, finish } = newWire();
    // The peer as the engine makes it for a connection it opened, with pipes that take what is
    // written and pass it on when told (a limiter holding it).
    const pipes = Object.assign(new EventEmitter(), {
      held: [] as Uint8Array[],
      write(chunk: Uint8Array) {
        this.held.push(chunk);
        return this.held.length < 2;
      },
    });
    const conn = {
      resumed: 0,
      resume() {
        this.resumed += 1;
      },
    };
    let limit = 1024;
    const peer = Object.assign(Object.create(WebTorrentPeer.prototype) as object, {
      destroyed: false,
      wire,
      conn,
      _downPipes: pipes,
      throttleGroups: { down: { getEnabled: () => false } },
      swarm: {
        rateLimiters: {
          down: {
            get bytesPerSecond() {
              return limit;
            },
          },
        },
      },
    }) as unknown as { onRead(length: number, buffer: Uint8Array): boolean };
    const shared = Buffer.alloc(64);
    const read = (index: number) => {
      const have = frame(4, numbers(index));
      shared.set(have);
      const more = peer.onRead(have.length, shared);
      shared.fill(0xff);
      return more;
    };
    const settle = () => new Promise((resolve) => setImmediate(resolve));

    assert.equal(read(1), true, 'limited: through the pipes, which take more');
    limit = 0;
    assert.equal(read(2), false, 'no limit now, but read 1 is still in the pipes: this one goes behind it');
    assert.equal(wire.pipedBytes, 18);
    const [first, second] = pipes.held.splice(0) as [Uint8Array, Uint8Array];
    // the pipes pass the first read on in two slices, and hold the second read a while
    wire.write(first.subarray(0, 5));
    wire.write(first.subarray(5));
    await settle();
    pipes.emit('drain');
    assert.equal(conn.resumed, 1, 'the socket paused by the full pipes reads again');
    assert.equal(read(3), true);
    assert.equal(pipes.held.length, 1, 'read 2 is not parsed yet: read 3 goes behind it');
    wire.write(second);
    wire.write(pipes.held.splice(0)[0] as Uint8Array);
    await settle();
    assert.equal(wire.pipedBytes, 0);
    assert.equal(read(4), true);
    assert.deepEqual(pipes.held, [], 'nothing in the pipes and no limit: parsed in place');
    assert.deepEqual(seen.events.slice(-4), ['have 1', 'have 2', 'have 3', 'have 4']);
    finish();
  });
});
