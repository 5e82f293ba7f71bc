/**
 * WAN emulation in user space for bench/perf/wan-swarm.ts (this kernel has no netem): one TCP
 * relay per seeder, all in this one process. The tracker names the relay's port, never the
 * seeder's; the relay connects on to its seeder on 127.0.0.1.
 *
 *   node wan-relay.mjs CONFIG.json
 *
 * Each direction of each connection goes through a delay line: a chunk read at t is written at
 * max(t + delay + jitter, the previous chunk's time), so bytes are never reordered. The seeder's
 * own one-way delay is fixed per seeder; the jitter is uniform in [0, jitterMs], drawn per chunk
 * from a seeded generator (per relay and per connection since the last reset, so a run replays the
 * same delays). The leecher's first bytes to the seeder wait one round trip from the accept before
 * their own one-way delay, as a TCP connect over that path would have cost it. A delay line holding more than
 * 4 MiB (with what its socket has not sent yet) stops reading its side until it drains below
 * 1 MiB, so TCP's own back-pressure reaches the sender.
 *
 * Faults (the `fault` of a relay):
 *   drop    once the relay has passed `dropAfterBytes` to the leecher in this round (all relays
 *           together), every connection of this relay is reset, and new ones are reset at once.
 *   stall   the seeder's bytes pass until its first `piece` message (handshake, extension
 *           handshake, bitfield/have_all, unchoke…); from there on nothing more is forwarded to the
 *           leecher (the seeder side is no longer read) but the connection stays open. An
 *           encrypted (MSE) stream cannot be parsed: it stalls after `opaqueStallBytes`, which is
 *           past the handshakes and bitfield but short of one whole 16 KiB block.
 *   corrupt nothing here: that seeder serves a copy of the film with some pieces' bytes flipped.
 *
 * The relay also watches the seeder→leecher stream to time the first piece message written to
 * the leecher (an MSE stream: the write that passes `opaqueStallBytes` on one connection).
 *
 * Protocol: JSON lines on stdout (ready, cut, reset, report); commands on stdin: `reset` (close
 * every connection, zero the counters, lift the cuts: a new leecher's run starts), `report`,
 * `quit`. End of stdin (the harness is gone) and `maxSeconds` also end it. 127.0.0.1 only.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { substream } from './random.js';

export type Fault = 'none' | 'drop' | 'stall' | 'corrupt';

export interface RelaySpec {
  index: number;
  listenPort: number;
  targetPort: number;
  delayMs: number;
  jitterMs: number;
  fault: Fault;
}

export interface RelayConfig {
  seed: number;
  relays: RelaySpec[];
  dropAfterBytes: number;
  opaqueStallBytes: number;
  maxSeconds: number;
}

/** What `report` prints: one leecher's run as the relays saw it. */
export interface RelayReport {
  /** Bytes written to the leecher (all relays), protocol included. */
  toLeecher: number;
  /** Bytes read from the seeders (all relays): what they sent through the relays. */
  fromSeeders: number;
  toSeeders: number;
  /** Per relay index: bytes written to the leecher. */
  perRelay: number[];
  /** Epoch ms of the first piece message written to the leecher. */
  firstPieceAt: number | null;
  /** Per relay index: epoch ms of the first piece message it wrote to the leecher. */
  firstPieceAtPerRelay: (number | null)[];
  connections: number;
  refused: number;
  encrypted: number;
  /** Epoch ms of this report. */
  t: number;
  /** Epoch ms of the cut of the `drop` relays, when it happened. */
  cutAt: number | null;
  stalledConnections: number;
}

const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;
const PROTOCOL = Buffer.from('\x13BitTorrent protocol', 'latin1');
const HANDSHAKE_BYTES = 68;
const PIECE = 7;

const now = (): number => performance.timeOrigin + performance.now();

function say(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, t: now(), ...fields })}\n`);
}

interface Queued {
  data: Buffer;
  at: number;
  /** This chunk holds the start of a piece message (or passes the opaque threshold). */
  mark: boolean;
}

/** One direction of one connection: FIFO with a release time per chunk, never reordered. */
class DelayLine {
  private readonly queue: Queued[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private last: number;
  private ending = false;
  /** Never read the source again (a stalled seeder). */
  frozen = false;

  constructor(
    private readonly src: net.Socket,
    private readonly dst: net.Socket,
    private readonly delay: () => number,
    /** Nothing is sent before this time plus the delay (a TCP connect's round trip). */
    private readonly holdUntil: number,
    private readonly onRelease: (item: Queued) => void,
  ) {
    this.last = 0;
    dst.on('drain', () => this.maybeResume());
  }

  push(data: Buffer, mark: boolean): void {
    if (data.length === 0) return;
    const at = Math.max(Math.max(now(), this.holdUntil) + this.delay(), this.last);
    this.last = at;
    this.queue.push({ data, at, mark });
    this.bytes += data.length;
    if (this.bytes + this.dst.writableLength > HIGH_WATER) this.src.pause();
    this.schedule();
  }

  /** The source ended: end the destination once everything queued is out. */
  end(): void {
    this.ending = true;
    if (this.queue.length === 0) this.dst.end();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.bytes = 0;
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    const head = this.queue[0];
    if (head === undefined) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.flush();
      },
      Math.max(0, head.at - now()),
    );
  }

  private flush(): void {
    const t = now();
    while (this.queue.length > 0 && (this.queue[0] as Queued).at <= t + 0.5) {
      const item = this.queue.shift() as Queued;
      this.bytes -= item.data.length;
      if (this.dst.destroyed) continue;
      this.dst.write(item.data);
      this.onRelease(item);
    }
    if (this.ending && this.queue.length === 0 && !this.dst.destroyed) this.dst.end();
    this.maybeResume();
    this.schedule();
  }

  private maybeResume(): void {
    if (!this.frozen && this.src.isPaused() && this.bytes + this.dst.writableLength < LOW_WATER) this.src.resume();
  }
}

/**
 * Follows the seeder→leecher byte stream: plain BitTorrent (handshake, then length-prefixed
 * messages) or, when it does not start with the handshake, opaque (MSE-encrypted).
 */
class SeederStream {
  encrypted = false;
  private seen = 0;
  private header = Buffer.alloc(5);
  private headerBytes = 0;
  private skip = 0;

  constructor(private readonly opaqueThreshold: number) {}

  /** Offset in `chunk` where the first piece message starts (opaque: the threshold's byte), or -1. */
  feed(chunk: Buffer): number {
    let found = -1;
    let pos = 0;
    while (pos < chunk.length) {
      if (this.encrypted) {
        if (this.seen <= this.opaqueThreshold && this.seen + (chunk.length - pos) > this.opaqueThreshold) {
          if (found < 0) found = pos + (this.opaqueThreshold - this.seen);
        }
        this.seen += chunk.length - pos;
        return found;
      }
      if (this.seen < HANDSHAKE_BYTES) {
        const take = Math.min(HANDSHAKE_BYTES - this.seen, chunk.length - pos);
        for (let i = 0; i < take; i++) {
          const at = this.seen + i;
          if (at < PROTOCOL.length && chunk[pos + i] !== PROTOCOL[at]) {
            this.encrypted = true;
            break;
          }
        }
        if (this.encrypted) continue; // re-run this chunk from `pos` as opaque
        this.seen += take;
        pos += take;
        continue;
      }
      if (this.skip > 0) {
        const take = Math.min(this.skip, chunk.length - pos);
        this.skip -= take;
        this.seen += take;
        pos += take;
        continue;
      }
      // Header: 4 bytes of length, then the id.
      const start = pos - this.headerBytes;
      this.header[this.headerBytes++] = chunk[pos] as number;
      this.seen++;
      pos++;
      if (this.headerBytes === 4 && this.header.readUInt32BE(0) === 0) {
        this.headerBytes = 0; // keep-alive
      } else if (this.headerBytes === 5) {
        const length = this.header.readUInt32BE(0);
        if (this.header[4] === PIECE && found < 0) found = Math.max(0, start);
        this.skip = length - 1;
        this.headerBytes = 0;
      }
    }
    return found;
  }
}

interface Connection {
  relay: RelaySpec;
  client: net.Socket;
  upstream: net.Socket;
  lines: DelayLine[];
}

function main(): void {
  const configPath = process.argv[2];
  if (configPath === undefined) throw new Error('usage: wan-relay CONFIG.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as RelayConfig;
  const connections = new Set<Connection>();
  let counters = freshCounters();
  let cut = false;
  /** Per relay: connections accepted since the last reset (each one's jitter stream follows from it). */
  let serials = config.relays.map(() => 0);

  function freshCounters(): RelayReport {
    return {
      toLeecher: 0,
      fromSeeders: 0,
      toSeeders: 0,
      perRelay: config.relays.map(() => 0),
      t: 0,
      firstPieceAt: null,
      firstPieceAtPerRelay: config.relays.map(() => null),
      connections: 0,
      refused: 0,
      encrypted: 0,
      cutAt: null,
      stalledConnections: 0,
    };
  }

  function close(connection: Connection): void {
    connections.delete(connection);
    for (const line of connection.lines) line.stop();
    connection.client.resetAndDestroy();
    connection.upstream.destroy();
  }

  function cutDropRelays(): void {
    cut = true;
    counters.cutAt = now();
    for (const connection of [...connections]) if (connection.relay.fault === 'drop') close(connection);
    say('cut', { relays: config.relays.filter((r) => r.fault === 'drop').map((r) => r.index) });
  }

  function accept(relay: RelaySpec, client: net.Socket): void {
    if (relay.fault === 'drop' && cut) {
      counters.refused++;
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    counters.connections++;
    client.setNoDelay(true);
    const acceptedAt = now();
    const serial = serials[relay.index] ?? 0;
    serials[relay.index] = serial + 1;
    const random = substream(config.seed, relay.index * 100_000 + serial);
    const delay = (): number => relay.delayMs + random() * relay.jitterMs;
    const upstream = net.connect({ host: '127.0.0.1', port: relay.targetPort, localAddress: '127.0.0.1' });
    upstream.setNoDelay(true);
    const connection: Connection = { relay, client, upstream, lines: [] };
    connections.add(connection);
    const toSeeder = new DelayLine(client, upstream, delay, acceptedAt + 2 * relay.delayMs, (item) => {
      counters.toSeeders += item.data.length;
    });
    const toLeecher = new DelayLine(upstream, client, delay, 0, (item) => {
      counters.toLeecher += item.data.length;
      counters.perRelay[relay.index] = (counters.perRelay[relay.index] ?? 0) + item.data.length;
      if (item.mark && counters.firstPieceAt === null) counters.firstPieceAt = now();
      if (item.mark && counters.firstPieceAtPerRelay[relay.index] === null)
        counters.firstPieceAtPerRelay[relay.index] = now();
      if (!cut && counters.toLeecher >= config.dropAfterBytes) cutDropRelays();
    });
    connection.lines.push(toSeeder, toLeecher);
    const stream = new SeederStream(config.opaqueStallBytes);
    let stalled = false;
    let wasEncrypted = false;
    client.on('data', (data: Buffer) => toSeeder.push(data, false));
    upstream.on('data', (data: Buffer) => {
      counters.fromSeeders += data.length;
      if (stalled) return;
      const at = stream.feed(data);
      if (stream.encrypted && !wasEncrypted) {
        wasEncrypted = true;
        counters.encrypted++;
      }
      if (relay.fault === 'stall' && at >= 0) {
        stalled = true;
        counters.stalledConnections++;
        toLeecher.frozen = true;
        upstream.pause();
        toLeecher.push(data.subarray(0, at), false);
        return;
      }
      toLeecher.push(data, at >= 0);
    });
    client.on('end', () => toSeeder.end());
    upstream.on('end', () => toLeecher.end());
    const drop = (): void => {
      if (connections.has(connection)) close(connection);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', () => {
      // Let what is queued for the leecher reach it first (a seeder that said goodbye).
      if (!connections.has(connection)) return;
      setTimeout(drop, relay.delayMs + relay.jitterMs + 50).unref();
    });
  }

  const servers = config.relays.map((relay) => {
    const server = net.createServer({ noDelay: true }, (client) => accept(relay, client));
    server.on('error', (error) => {
      say('error', { message: `relay ${relay.index} on ${relay.listenPort}: ${error.message}` });
      process.exit(1);
    });
    server.listen(relay.listenPort, '127.0.0.1');
    return server;
  });
  void Promise.all(servers.map((s) => new Promise((resolve) => s.once('listening', resolve)))).then(() =>
    say('ready', { ports: config.relays.map((r) => r.listenPort) }),
  );

  let pending = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (text: string) => {
    const lines = (pending + text).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines.map((l) => l.trim())) {
      if (line === 'reset') {
        for (const connection of [...connections]) close(connection);
        counters = freshCounters();
        serials = config.relays.map(() => 0);
        cut = false;
        say('reset');
      } else if (line === 'report') {
        say('report', { ...counters, t: now() });
      } else if (line === 'quit') {
        process.exit(0);
      }
    }
  });
  process.stdin.on('end', () => process.exit(0));
  setTimeout(() => process.exit(2), config.maxSeconds * 1000).unref();
}

main();
