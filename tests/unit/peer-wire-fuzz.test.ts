/**
 * Property-based fuzzing (fast-check, fixed seed, bounded runs and time) of what reads peer
 * messages in the engine: a bittorrent-protocol `Wire` with ut_metadata attached, after a valid
 * handshake, fed arbitrary bytes and structured-but-wrong messages (issue 12, finding 2).
 *
 * Nothing may throw out of `wire.write`, nor later from a tick, a promise or a timer; the wire ends
 * either alive or destroyed with an error whose code is ERR_PEER_PROTOCOL.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import bencode from 'bencode';
import WireConstructor from 'bittorrent-protocol';
import fc from 'fast-check';
import utMetadataFactory from 'ut_metadata';
import { cut } from '../helpers/chunks.js';

const FUZZ = { seed: 20_261_201, numRuns: 1_000, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: false };

interface FuzzWire extends EventEmitter {
  readonly destroyed: boolean;
  readonly destroying: boolean;
  readonly extendedMapping: Record<number, string>;
  readonly ut_metadata: EventEmitter & { fetch(): void };
  write(data: Uint8Array): boolean;
  use(extension: unknown): void;
  handshake(infoHash: string, peerId: string, extensions?: { dht?: boolean; fast?: boolean }): void;
  destroy(): void;
}

// types/engine-internals.d.ts declares only what the engine check uses; the part used here is FuzzWire.
const Wire = WireConstructor as unknown as new (type?: string | null) => FuzzWire;
const utMetadata = utMetadataFactory as unknown as (metadata?: Uint8Array) => unknown;

/** A small info dictionary of more than one 16 KiB ut_metadata piece, and its hash. */
const INFO = bencode.encode({
  length: 1 << 20,
  name: Buffer.from('fuzz.bin'),
  'piece length': 1 << 14,
  pieces: Buffer.alloc(20 * 1000, 7), // 1000 pieces: 20 KB of hashes
});
const INFO_HASH = createHash('sha1').update(INFO).digest('hex');
const OUR_PEER_ID = Buffer.from('-FZ0001-ourselves!!!').toString('hex');
const REMOTE_PEER_ID = Buffer.from('-FZ0001-the-remote!!');
/** ut_metadata's id on our side: the first extension a wire uses gets 1. */
const OUR_UT_METADATA_ID = 1;
/** bittorrent-protocol's cap on a message's length (patches/bittorrent-protocol+4.1.21.patch). */
const MAX_MESSAGE_LENGTH = 2 * 1024 * 1024;

function frame(id: number, payload: Uint8Array, declaredLength = 1 + payload.length): Uint8Array {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(declaredLength >>> 0, 0);
  header[4] = id;
  return Buffer.concat([header, payload]);
}

function extendedMessage(extId: number, payload: Uint8Array): Uint8Array {
  return frame(20, Buffer.concat([Buffer.from([extId]), payload]));
}

function remoteHandshake(fast: boolean): Uint8Array {
  const reserved = Buffer.alloc(8);
  reserved[5] = 0x10;
  if (fast) reserved[7] = 0x04;
  return Buffer.concat([
    Buffer.from('\x13BitTorrent protocol', 'latin1'),
    reserved,
    Buffer.from(INFO_HASH, 'hex'),
    REMOTE_PEER_ID,
  ]);
}

// ── generators ──

const anyInteger = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
  fc.constantFrom(1000, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -(2 ** 53)),
);

/** Something bencode can encode, for a field that should hold an integer. */
const oddValue = fc.oneof(
  anyInteger,
  fc.uint8Array({ maxLength: 8 }),
  fc.constant([] as unknown[]),
  fc.constant({ x: 1 } as Record<string, unknown>),
);

/** The remote peer's extended handshake: sometimes honest, often not. */
const remoteExtendedHandshake = fc.record(
  {
    m: fc.oneof(
      fc.record({ ut_metadata: fc.oneof(fc.integer({ min: 1, max: 255 }), oddValue) }, { requiredKeys: [] }),
      oddValue,
    ),
    metadata_size: fc.oneof(fc.constant(INFO.length), fc.integer({ min: -5, max: 2e7 }), oddValue),
  },
  { requiredKeys: [] },
);

/** A ut_metadata message (to our ut_metadata id): type, piece, total_size and trailer all suspect. */
const utMetadataMessage = fc
  .record({
    dict: fc.record(
      {
        msg_type: fc.oneof(fc.constantFrom(0, 1, 2), oddValue),
        piece: fc.oneof(fc.constantFrom(0, 1, 2, -1, 1000), oddValue),
        total_size: fc.oneof(fc.constant(INFO.length), oddValue),
      },
      { requiredKeys: [] },
    ),
    trailerLength: fc.oneof(
      fc.constantFrom(0, 1, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, INFO.length - 16 * 1024),
      fc.integer({ min: 0, max: 20_000 }),
    ),
  })
  .map(({ dict, trailerLength }) =>
    extendedMessage(OUR_UT_METADATA_ID, Buffer.concat([bencode.encode(dict), Buffer.alloc(trailerLength, 0x61)])),
  );

/** A message with a known (or any) id whose declared length may not match its payload. */
const framedMessage = fc
  .record({
    id: fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 20), fc.nat(255)),
    payload: fc.uint8Array({ maxLength: 40 }),
    lengthDelta: fc.oneof(fc.constant(0), fc.integer({ min: -4, max: 4 })),
  })
  .map(({ id, payload, lengthDelta }) => frame(id, payload, Math.max(0, 1 + payload.length + lengthDelta)));

/** A length prefix at or past the cap (or one read as negative by a signed parser), then some bytes. */
const hugeLength = fc
  .record({
    length: fc.constantFrom(MAX_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH + 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1),
    id: fc.constantFrom(5, 7, 20, 99),
    tail: fc.uint8Array({ maxLength: 64 }),
  })
  .map(({ length, id, tail }) => Buffer.concat([frame(id, new Uint8Array(), length), tail]));

/**
 * Bencode-shaped garbage for the extended handshake or a ut_metadata message, including negative
 * string lengths (on which bencode 4.0.1's decoder loops forever).
 */
const bencodeGarbage = (withNegativeLengths: boolean) =>
  fc
    .record({
      extId: fc.constantFrom(0, OUR_UT_METADATA_ID),
      tokens: fc.array(
        fc.constantFrom(
          'd',
          'l',
          'e',
          'i5e',
          'i-1e',
          'ie',
          '3:abc',
          '0:',
          '99:',
          '8:msg_type',
          '5:piece',
          'i1e',
          'x',
          ...(withNegativeLengths ? ['-3:', '-1:a'] : []),
        ),
        { maxLength: 16 },
      ),
    })
    .map(({ extId, tokens }) => extendedMessage(extId, Buffer.from(tokens.join(''), 'latin1')));

const message = (withNegativeLengths: boolean) =>
  fc.oneof(
    { weight: 4, arbitrary: utMetadataMessage },
    { weight: 4, arbitrary: framedMessage },
    { weight: 1, arbitrary: hugeLength },
    { weight: 2, arbitrary: bencodeGarbage(withNegativeLengths) },
    { weight: 1, arbitrary: remoteExtendedHandshake.map((h) => extendedMessage(0, bencode.encode(h))) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  );

/** How a run sets the wire up, and the chunks the remote peer's bytes arrive in. */
const scenario = (withNegativeLengths: boolean) =>
  fc.record({
    fast: fc.boolean(),
    haveMetadata: fc.boolean(),
    extendedHandshake: fc.option(remoteExtendedHandshake, { nil: undefined }),
    messages: fc.array(message(withNegativeLengths), { maxLength: 12 }),
    /** Where the stream of bytes is cut into writes (fractions of its length). */
    cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
  });

// ── the wire under test ──

interface WireUnderTest {
  wire: FuzzWire;
  errors: unknown[];
}

function newWire(fast: boolean, haveMetadata: boolean): WireUnderTest {
  const wire = new Wire('tcpOutgoing');
  const errors: unknown[] = [];
  wire.on('error', (error: unknown) => errors.push(error));
  wire.on('data', () => undefined); // what we send to the peer goes nowhere
  wire.use(utMetadata(haveMetadata ? INFO : undefined));
  wire.ut_metadata.on('warning', () => undefined);
  wire.ut_metadata.on('metadata', () => undefined);
  wire.handshake(INFO_HASH, OUR_PEER_ID, { dht: false, fast });
  wire.ut_metadata.fetch();
  wire.write(remoteHandshake(fast));
  return { wire, errors };
}

/** Lets ticks, microtasks and immediates queued by the wire run (its flushes, 'error' events, …). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

function errorCode(error: unknown): unknown {
  return error !== null && typeof error === 'object' ? (error as { code?: unknown }).code : undefined;
}

/**
 * Feeds one scenario to a fresh wire; throws (failing the property) if anything breaks the rules.
 * Returns how the wire ended up.
 */
async function feed(input: {
  fast: boolean;
  haveMetadata: boolean;
  extendedHandshake: Record<string, unknown> | undefined;
  messages: Uint8Array[];
  cuts: number[];
}): Promise<'alive' | 'dropped'> {
  const uncaught: unknown[] = [];
  const record = (error: unknown) => uncaught.push(error);
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  const { wire, errors } = newWire(input.fast, input.haveMetadata);
  try {
    const parts =
      input.extendedHandshake === undefined ? [] : [extendedMessage(0, bencode.encode(input.extendedHandshake))];
    const bytes = Buffer.concat([...parts, ...input.messages]);
    for (const chunk of cut(bytes, input.cuts)) wire.write(chunk); // a throw here fails the property
    await settle();
    assert.deepEqual(uncaught, [], 'nothing escapes later either');
    if (wire.destroyed || wire.destroying) {
      assert.ok(errors.length > 0, 'a wire that was torn down says why');
    }
    for (const error of errors) assert.equal(errorCode(error), 'ERR_PEER_PROTOCOL', String(error));
    return errors.length > 0 ? 'dropped' : 'alive';
  } finally {
    wire.destroy();
    await settle();
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
  }
}

/**
 * bencode 4.0.1's decoder never returns from a string of negative length: it steps back and reads
 * the same bytes again. Checked in a child process with a deadline, so that a regression fails
 * this test instead of hanging the run; the fuzz below generates such strings only once this passed.
 */
let negativeLengthsAreSafe = false;

describe('peer wire fuzz: bittorrent-protocol Wire + ut_metadata', { timeout: 180_000 }, () => {
  test('a bencoded string of negative length (extended handshake, ut_metadata) neither hangs nor throws', async () => {
    const script = `
      import Wire from 'bittorrent-protocol';
      import utMetadata from 'ut_metadata';
      const infoHash = ${JSON.stringify(INFO_HASH)};
      for (const extId of [0, 1]) {
        const wire = new Wire('tcpOutgoing');
        const errors = [];
        wire.on('error', (e) => errors.push(e.code));
        wire.on('data', () => {});
        wire.use(utMetadata());
        wire.handshake(infoHash, ${JSON.stringify(OUR_PEER_ID)}, { fast: false });
        wire.ut_metadata.fetch();
        const hs = Buffer.concat([Buffer.from('\\x13BitTorrent protocol', 'latin1'), Buffer.from([0,0,0,0,0,0x10,0,0]),
          Buffer.from(infoHash, 'hex'), Buffer.alloc(20, 1)]);
        wire.write(hs);
        const payload = Buffer.from('d1:a-3:xxe', 'latin1');
        const msg = Buffer.alloc(6 + payload.length);
        msg.writeUInt32BE(2 + payload.length, 0); msg[4] = 20; msg[5] = extId; payload.copy(msg, 6);
        wire.write(msg);
        await new Promise((resolve) => setImmediate(resolve));
        console.log(JSON.stringify({ extId, errors }));
        wire.destroy();
      }
      process.exit(0);
    `;
    const result = await runNode(['--input-type=module', '-e', script], 20_000);
    assert.equal(result.timedOut, false, 'decoding the peer message hung');
    assert.equal(result.code, 0, result.stderr);
    // A malformed extended handshake is ignored (as before); a malformed ut_metadata message drops the peer.
    assert.deepEqual(
      result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
      [
        { extId: 0, errors: [] },
        { extId: 1, errors: ['ERR_PEER_PROTOCOL'] },
      ],
    );
    negativeLengthsAreSafe = true;
  });

  test('arbitrary bytes after a valid handshake', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }),
        async (fast, haveMetadata, chunks) => {
          await feed({ fast, haveMetadata, extendedHandshake: undefined, messages: chunks, cuts: [] });
        },
      ),
      FUZZ,
    );
  });

  test('structured but wrong messages: ut_metadata, framing, lengths, bencode', async (t) => {
    const outcomes = { alive: 0, dropped: 0 };
    await fc.assert(
      fc.asyncProperty(scenario(negativeLengthsAreSafe), async (input) => {
        outcomes[await feed(input)] += 1;
      }),
      FUZZ,
    );
    t.diagnostic(`wires left alive: ${outcomes.alive}, dropped for a protocol violation: ${outcomes.dropped}`);
    // Both outcomes are common: the fuzz reaches past the first message, and does catch violations.
    assert.ok(outcomes.alive >= FUZZ.numRuns / 20, `only ${outcomes.alive} wires stayed alive`);
    assert.ok(outcomes.dropped >= FUZZ.numRuns / 20, `only ${outcomes.dropped} wires were dropped`);
  });

  test('an honest exchange still completes: the fuzz does not just pass because everything is dropped', async () => {
    const { wire, errors } = newWire(false, false);
    let metadata: Uint8Array | undefined;
    wire.ut_metadata.on('metadata', (m: Uint8Array) => {
      metadata = m;
    });
    try {
      wire.write(extendedMessage(0, bencode.encode({ m: { ut_metadata: 3 }, metadata_size: INFO.length })));
      const pieces = Math.ceil(INFO.length / (16 * 1024));
      for (let piece = 0; piece < pieces; piece++) {
        const data = INFO.subarray(piece * 16 * 1024, (piece + 1) * 16 * 1024);
        wire.write(
          extendedMessage(
            OUR_UT_METADATA_ID,
            Buffer.concat([bencode.encode({ msg_type: 1, piece, total_size: INFO.length }), data]),
          ),
        );
      }
      for (let i = 0; i < 20 && metadata === undefined; i++) await settle();
      assert.deepEqual(errors, []);
      assert.equal(wire.destroyed || wire.destroying, false);
      assert.ok(metadata !== undefined, 'the metadata was assembled');
    } finally {
      wire.destroy();
    }
  });
});

function runNode(
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; timedOut: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut, stdout, stderr });
    });
  });
}
