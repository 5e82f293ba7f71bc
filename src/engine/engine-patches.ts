/**
 * Which of this repository's engine patches (patches/*.patch) and pins the running engine
 * carries, told by trying each patched behaviour on the engine's own modules: cheap, bounded and
 * offline (no socket is opened). See check-engine.ts for the public entry.
 */
import { ENGINE_BUNDLED, type engineModules } from './bittorrent-engine.js';
import type { EngineCheck, EngineReport } from './engine-report.js';

export type EngineModules = typeof engineModules;

interface EngineProbe {
  name: string;
  kind: 'patch' | 'pin';
  gives: string;
  /** Resolves with a problem, or undefined when the patched behaviour is there. */
  probe(modules: EngineModules): Promise<string | undefined>;
}

const SHORT_STRING = '5:ab'; // a string that claims 5 bytes where 2 follow

function decodeRefuses(decode: (data: Uint8Array) => unknown): string | undefined {
  try {
    decode(new TextEncoder().encode(SHORT_STRING));
  } catch (error) {
    // The patch's own words, so that any other failure does not pass for it.
    return error instanceof Error && error.message.includes('does not fit the data')
      ? undefined
      : `refused "${SHORT_STRING}" for another reason: ${error instanceof Error ? error.message : String(error)}`;
  }
  return `decoded "${SHORT_STRING}" instead of refusing it`;
}

/** A handshake (BEP 3) and then a message header that claims 2 GiB. */
function oversizedMessage(): Uint8Array {
  const protocol = new TextEncoder().encode('\u0013BitTorrent protocol');
  const bytes = new Uint8Array(protocol.length + 8 + 20 + 20 + 5);
  bytes.set(protocol, 0);
  const header = new DataView(bytes.buffer, protocol.length + 48, 5);
  header.setUint32(0, 0x7fffffff);
  header.setUint8(4, 7);
  return bytes;
}

export const ENGINE_PROBES: readonly EngineProbe[] = [
  {
    name: 'webtorrent+2.8.5',
    kind: 'patch',
    gives:
      'metadata from peers checked before use; bans by address; write back-pressure; fewer copies; per-torrent speed limits; seeding ends without dropping what was sent; a new peer asked for 4 blocks at once (at once even if it unchoked with its handshake), its pipeline deeper for its first 3 s',
    probe: async ({ WebTorrentTorrent }) => {
      const prototype = WebTorrentTorrent.prototype as { _handleMetadata?: unknown; endConnections?: unknown };
      if (typeof prototype._handleMetadata !== 'function')
        return 'Torrent has no _handleMetadata (peer metadata is not checked)';
      if (typeof prototype.endConnections !== 'function')
        return 'Torrent has no endConnections (a seeding job that stops drops what its peers have not read yet)';
      return undefined;
    },
  },
  {
    name: 'bittorrent-protocol+4.1.21',
    kind: 'patch',
    gives:
      'messages capped at 2 MiB and checked; a peer that breaks the protocol is dropped; bounded requests; download rate counted from the first request',
    probe: ({ PeerWire }) =>
      new Promise((resolve) => {
        const wire = new PeerWire();
        const timer = setTimeout(() => finish('kept a peer that claimed a 2 GiB message'), 1000);
        function finish(problem: string | undefined): void {
          clearTimeout(timer);
          wire.destroy();
          resolve(problem);
        }
        wire.on('error', (error: { code?: unknown }) =>
          finish(error.code === 'ERR_PEER_PROTOCOL' ? undefined : `dropped the peer with ${String(error.code)}`),
        );
        wire.on('handshake', () => undefined);
        wire.write(oversizedMessage());
      }),
  },
  {
    name: 'ut_metadata+4.0.3',
    kind: 'patch',
    gives: 'every metadata piece and size from a peer checked (no crash on piece 1000 or -1)',
    probe: async ({ utMetadata }) =>
      typeof (utMetadata() as { prototype: { _violation?: unknown } }).prototype._violation === 'function'
        ? undefined
        : 'ut_metadata has no _violation (bad pieces from peers are not checked)',
  },
  {
    name: 'bittorrent-tracker+11.2.3',
    kind: 'patch',
    gives:
      'a tracker that failed is asked again with back-off instead of after 30 minutes; each tracker keeps its last answer, error, counts and next announce (the tracker list)',
    probe: async ({ TrackerClient }) => {
      const client = new TrackerClient({
        infoHash: '0'.repeat(40),
        peerId: '1'.repeat(40),
        announce: ['http://127.0.0.1:9/announce'],
        port: 6881,
      });
      try {
        const tracker = client._trackers[0] as { _onAnnounceFailure?: unknown; lastAnnounceAt?: unknown } | undefined;
        if (typeof tracker?._onAnnounceFailure !== 'function') return 'trackers have no retry back-off';
        return tracker.lastAnnounceAt === null ? undefined : 'trackers do not keep their state (no tracker list)';
      } finally {
        client.destroy();
      }
    },
  },
  {
    name: 'throughput+1.0.2',
    kind: 'patch',
    gives:
      'speed meters read the clock once per run of code, without process.hrtime (a fifth of the CPU of a download)',
    probe: async ({ throughput }) => {
      const hrtime = process.hrtime;
      let calls = 0;
      process.hrtime = Object.assign((time?: [number, number]) => {
        calls += 1;
        return hrtime(time);
      }, hrtime);
      try {
        const meter = throughput(5);
        meter(16_384);
        meter();
      } finally {
        process.hrtime = hrtime;
      }
      return calls === 0 ? undefined : `speed meters read process.hrtime (${calls} times for 2 readings)`;
    },
  },
  {
    name: 'bencode+4.0.1',
    kind: 'patch',
    gives: 'strings of negative or too great length refused (one looped forever)',
    probe: async ({ bencode }) => decodeRefuses((data) => bencode.decode(data)),
  },
  {
    name: 'k-rpc-socket++bencode+2.0.3',
    kind: 'patch',
    gives: 'the DHT refuses strings of negative or too great length',
    probe: async ({ dhtBencode }) => decodeRefuses((data) => dhtBencode.decode(Buffer.from(data))),
  },
  {
    name: 'torrent-piece+3.0.2',
    kind: 'patch',
    gives: 'blocks assembled in place as they arrive (no copy per piece)',
    probe: async ({ TorrentPiece }) =>
      new TorrentPiece(16).useTarget?.(new Uint8Array(16)) === true ? undefined : 'pieces cannot be assembled in place',
  },
  {
    name: 'immediate-chunk-store+2.2.0',
    kind: 'patch',
    gives: 'a chunk being written is read as a copy (its buffer is reused after the write)',
    probe: ({ ImmediateChunkStore }) =>
      new Promise((resolve) => {
        const neverWrites = { chunkLength: 4, put: () => undefined, get: () => undefined, close: () => undefined };
        const store = new ImmediateChunkStore(neverWrites);
        const chunk = Uint8Array.of(1, 2, 3, 4);
        store.put(0, chunk);
        store.get(0, (error: Error | null, read?: Uint8Array) => {
          if (error !== null || read === undefined) return resolve('could not read a chunk being written');
          chunk.fill(0);
          resolve(read[0] === 1 ? undefined : 'returned the buffer being written, not a copy');
        });
      }),
  },
  {
    name: 'uint8-util@2.2.5',
    kind: 'pin',
    gives: '2.3 throws on the strings WebTorrent passes it: every add failed',
    probe: async ({ arr2hex }) => {
      try {
        arr2hex('ab' as unknown as Uint8Array);
        return undefined;
      } catch {
        return 'arr2hex throws on a string (uint8-util 2.3)';
      }
    },
  },
  {
    name: 'webrtc-polyfill (stand-in)',
    kind: 'pin',
    gives: 'no WebRTC binding loaded (peers are TCP and uTP only; no native download at install)',
    probe: async ({ webrtcPolyfill }) =>
      webrtcPolyfill.RTCPeerConnection === undefined ? undefined : 'a WebRTC implementation is loaded',
  },
];

/** Runs every probe against the engine's modules (or stand-ins, in tests). */
export async function checkEngineModules(modules: EngineModules): Promise<EngineReport> {
  const checks: EngineCheck[] = [];
  for (const { name, kind, gives, probe } of ENGINE_PROBES) {
    let problem: string | undefined;
    try {
      problem = await probe(modules);
    } catch (error) {
      problem = `the check threw: ${error instanceof Error ? error.message : String(error)}`;
    }
    checks.push({ name, kind, gives, ok: problem === undefined, ...(problem === undefined ? {} : { problem }) });
  }
  return {
    engine: 'webtorrent 2.8.5',
    bundled: ENGINE_BUNDLED,
    ok: checks.every((check) => check.ok),
    checks,
  };
}
