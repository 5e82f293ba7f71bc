/**
 * What a wire sends goes straight to its TCP socket while no upload limit applies (patches/
 * bittorrent-protocol+4.1.21.patch: `Wire#sendDirect`; patches/webtorrent+2.8.5.patch:
 * `Peer#_writeDirect`), past the pipes (the wire's readable side, the client's throttle, the
 * torrent's limiter and a byte counter). While a limit applies the owner refuses, and what is sent
 * goes through the pipes; once the limit is lifted, nothing may overtake what is still in them.
 * Property-based (fast-check, fixed seed, bounded runs): any sequence of small and large messages,
 * limits switched on and off, and pipes that pass on any number of bytes at a time (a throttle
 * cuts chunks), gives the socket exactly the bytes sent, in the order they were sent.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WireConstructor from 'bittorrent-protocol';
import fc from 'fast-check';

const FUZZ = { seed: 20_261_203, numRuns: 1500, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: false };

interface Sink {
  write(first: Uint8Array, second: Uint8Array | null): boolean;
  unsent(): number;
}
interface SendingWire {
  on(event: 'data', listener: (chunk: Uint8Array) => void): void;
  sendDirect(sink: Sink | null): void;
  sentThroughPipes(length: number): void;
  _push(data: Uint8Array): boolean;
  destroy(): void;
}
const Wire = WireConstructor as unknown as new () => SendingWire;

type Step =
  | { kind: 'send'; size: number }
  | { kind: 'limit'; on: boolean }
  | { kind: 'pipe'; bytes: number }
  | { kind: 'turn' };

const step: fc.Arbitrary<Step> = fc.oneof(
  // Small messages wait for the end of the turn; large ones (over 4 KiB: blocks) leave at once.
  fc.record({
    kind: fc.constant('send' as const),
    size: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 4097, max: 20_000 })),
  }),
  fc.record({ kind: fc.constant('limit' as const), on: fc.boolean() }),
  // A throttle passes on a few bytes at a time as often as whole chunks.
  fc.record({
    kind: fc.constant('pipe' as const),
    bytes: fc.oneof(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 1, max: 40_000 })),
  }),
  fc.constant({ kind: 'turn' as const }),
);

function turnEnds(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A message whose bytes say which it is and where in it they are. */
function message(serial: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 1) bytes[i] = (serial * 31 + i) % 251;
  return bytes;
}

describe('peer wire: what it sends goes straight to the socket', () => {
  test('fuzz: limits on and off and pipes that pass on any number of bytes never reorder what the socket gets', async () => {
    const used = { direct: 0, piped: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), async (steps) => {
        const wire = new Wire();
        const socket: Uint8Array[] = [];
        const sent: Uint8Array[] = [];
        const inPipes: Uint8Array[] = [];
        let limited = false;
        wire.on('data', (chunk) => inPipes.push(chunk));
        wire.sendDirect({
          write(first, second) {
            if (limited) return false;
            socket.push(first.slice());
            if (second !== null) socket.push(second.slice());
            used.direct += 1;
            return true;
          },
          unsent: () => 0,
        });
        /** The pipes pass on up to `bytes` (cutting a chunk where the count ends) to the socket. */
        const pipe = (bytes: number) => {
          let moved = 0;
          while (moved < bytes && inPipes.length > 0) {
            const chunk = inPipes[0] as Uint8Array;
            const take = Math.min(chunk.length, bytes - moved);
            socket.push(chunk.slice(0, take));
            if (take === chunk.length) inPipes.shift();
            else inPipes[0] = chunk.subarray(take);
            moved += take;
          }
          if (moved > 0) {
            used.piped += 1;
            wire.sentThroughPipes(moved);
          }
        };
        try {
          for (const [serial, next] of steps.entries()) {
            if (next.kind === 'send') {
              const data = message(serial, next.size);
              sent.push(data);
              wire._push(data);
            } else if (next.kind === 'limit') limited = next.on;
            else if (next.kind === 'pipe') pipe(next.bytes);
            else await turnEnds();
          }
          limited = false;
          for (let turn = 0; turn < 20; turn += 1) {
            await turnEnds();
            pipe(Number.MAX_SAFE_INTEGER);
          }
          assert.deepEqual(Buffer.concat(socket), Buffer.concat(sent));
        } finally {
          wire.destroy();
        }
      }),
      FUZZ,
    );
    assert.ok(used.direct > 0 && used.piped > 0, `both ways used: ${JSON.stringify(used)}`);
  });

  test('answers to requests wait while the socket holds 16 MiB unsent, and go on once it has sent them', async () => {
    const wire = new Wire();
    let unsent = 0;
    const requests: number[] = [];
    wire.sendDirect({ write: () => true, unsent: () => unsent });
    const served = wire as unknown as {
      on(event: 'request', listener: (index: number) => void): void;
      amChoking: boolean;
      _onRequest(index: number, offset: number, length: number): void;
      _serveRequests(): void;
    };
    served.on('request', (index) => requests.push(index));
    served.amChoking = false;
    try {
      unsent = 16 * 1024 * 1024;
      served._onRequest(1, 0, 16_384);
      assert.deepEqual(requests, [], 'not read while the socket is full');
      unsent = 0;
      served._serveRequests();
      assert.deepEqual(requests, [1], 'read once the socket drained');
    } finally {
      wire.destroy();
    }
  });
});
