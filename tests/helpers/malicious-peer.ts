/**
 * A hostile BitTorrent peer for tests, on 127.0.0.1: a raw TCP listener (node:net + bencode, no
 * engine) that a test scripts. It announces itself to a loopback tracker, accepts connections,
 * answers the victim's handshake (extension bit set), sends the extended handshake the test chose
 * (`m: { ut_metadata: N }`, any `metadata_size`), then whatever the test wants: crafted ut_metadata
 * data/request/reject messages, a length prefix claiming 2 GiB followed by megabytes of filler,
 * messages of the wrong length for their id, an absurd bitfield, …
 *
 * It counts the connections it accepts (and knows each one's peer id), so a test can check that
 * a victim which dropped it did not connect again.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import bencode from 'bencode';

/** ut_metadata pieces are 16 KiB, the last one the remainder (BEP 9). */
export const METADATA_PIECE_LENGTH = 16 * 1024;

/** BitTorrent message ids (BEP 3, BEP 6, BEP 10). */
export const MessageId = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  notInterested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  port: 9,
  reject: 0x10,
  extended: 20,
} as const;

/** 'request' messages for every block of one piece, in order, as one buffer. */
export function pieceRequests(piece: number, pieceLength: number, blockLength = 16 * 1024): Buffer {
  const requests: Buffer[] = [];
  for (let offset = 0; offset < pieceLength; offset += blockLength) {
    const request = Buffer.alloc(17);
    request.writeUInt32BE(13, 0);
    request[4] = MessageId.request;
    request.writeUInt32BE(piece, 5);
    request.writeUInt32BE(offset, 9);
    request.writeUInt32BE(Math.min(blockLength, pieceLength - offset), 13);
    requests.push(request);
  }
  return Buffer.concat(requests);
}

/** ut_metadata message types (BEP 9). */
export const UtMetadata = { request: 0, data: 1, reject: 2 } as const;

/** What the script does on each accepted connection, once both handshakes are exchanged. */
export type HostileScript = (connection: HostileConnection) => Promise<void>;

export interface MaliciousPeerOptions {
  /** Hex info hash of the torrent the peer claims to have. */
  infoHash: string;
  /**
   * The extended handshake (BEP 10) to send, as a dictionary (`m`, `metadata_size`, …); `null`
   * sends none. Default `{ m: { ut_metadata: 3 } }`.
   */
  extendedHandshake?: Record<string, unknown> | null;
  /** Set the fast extension bit (BEP 6) in the handshake. Default false. */
  fast?: boolean;
  script: HostileScript;
}

const PROTOCOL = Buffer.from('\x13BitTorrent protocol', 'latin1');

/** A BitTorrent handshake (BEP 3): the protocol string, 8 reserved bytes, the info-hash and the peer id. */
export function handshakeBytes(infoHash: string, peerId: Uint8Array, reserved: Uint8Array = Buffer.alloc(8)): Buffer {
  return Buffer.concat([PROTOCOL, reserved, Buffer.from(infoHash, 'hex'), peerId]);
}
const HANDSHAKE_LENGTH = 68;
/** The victim's own messages are only skimmed; none of a test's victims sends anything this large. */
const MAX_RECEIVED_MESSAGE = 4 * 1024 * 1024;
const CONNECTION_WAIT_MS = 15_000;

export class MaliciousPeer {
  /** Connections accepted so far (each one a separate TCP connection from a victim). */
  connectionCount = 0;
  /** Errors thrown by the script on any connection (a test asserts this stays empty). */
  readonly scriptErrors: unknown[] = [];
  readonly peerId = Buffer.concat([Buffer.from('-HP0001-', 'latin1'), randomBytes(12)]);
  readonly connections: HostileConnection[] = [];
  private readonly server: net.Server;
  private readonly options: MaliciousPeerOptions;
  /** Pending `waitForConnection` calls; each returns true once it took a connection. */
  private readonly waiters: Array<(connection: HostileConnection) => boolean> = [];
  private announcedTo: string | undefined;
  private closing: Promise<void> | undefined;

  private constructor(options: MaliciousPeerOptions) {
    this.options = options;
    this.server = net.createServer((socket) => this.onSocket(socket));
  }

  static async start(options: MaliciousPeerOptions): Promise<MaliciousPeer> {
    const peer = new MaliciousPeer(options);
    await new Promise<void>((resolve, reject) => {
      peer.server.once('error', reject);
      peer.server.listen(0, '127.0.0.1', () => resolve());
    });
    return peer;
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('malicious peer is not listening');
    return address.port;
  }

  /** `ip:port` as a tracker hands it out, and as the victim's engine knows this peer. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** HTTP announce to a loopback tracker (left=0: it claims to be a seeder). */
  async announce(announceUrl: string, event: 'started' | 'stopped' = 'started'): Promise<void> {
    const url = new URL(announceUrl);
    if (url.hostname !== '127.0.0.1') throw new Error(`refusing to announce to ${url.hostname}: loopback only`);
    const query = [
      `info_hash=${percentEncode(Buffer.from(this.options.infoHash, 'hex'))}`,
      `peer_id=${percentEncode(this.peerId)}`,
      `port=${this.port}`,
      'uploaded=0',
      'downloaded=0',
      'left=0',
      'compact=1',
      `event=${event}`,
    ].join('&');
    const body = await httpGet(`${url.href}${url.search ? '&' : '?'}${query}`, 5_000);
    const reply = bencode.decode(body) as Record<string, unknown>;
    const failure = reply['failure reason'];
    if (failure !== undefined) throw new Error(`tracker refused the announce: ${Buffer.from(failure as Uint8Array)}`);
    if (event === 'started') this.announcedTo = announceUrl;
  }

  /**
   * Connections from the client with this peer id (hex, from its handshake). Other clients of the
   * swarm find this peer through the tracker too (a seeder that joins later connects to it), so a
   * test that asks "did the victim come back?" counts the victim's connections only.
   */
  connectionsFrom(peerId: string): number {
    return this.connections.filter((connection) => connection.remotePeerId === peerId).length;
  }

  /** The next connection (or the one already made, if `index` is given and it exists). */
  waitForConnection(index = this.connections.length, timeoutMs = CONNECTION_WAIT_MS): Promise<HostileConnection> {
    const existing = this.connections[index];
    if (existing !== undefined) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const at = this.waiters.indexOf(onConnection);
        if (at !== -1) this.waiters.splice(at, 1);
        reject(new Error(`no connection #${index + 1} to the malicious peer within ${timeoutMs} ms`));
      }, timeoutMs);
      const onConnection = (connection: HostileConnection) => {
        if (this.connections.indexOf(connection) < index) return false;
        clearTimeout(timer);
        resolve(connection);
        return true;
      };
      this.waiters.push(onConnection);
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.announcedTo !== undefined) {
        await this.announce(this.announcedTo, 'stopped').catch(() => undefined);
      }
      for (const connection of this.connections) connection.destroy();
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
    })();
    return this.closing;
  }

  private onSocket(socket: net.Socket): void {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    this.connectionCount += 1;
    const connection = new HostileConnection(socket, this.options, this.peerId);
    this.connections.push(connection);
    for (let i = 0; i < this.waiters.length; ) {
      const waiter = this.waiters[i];
      if (waiter?.(connection) === true) this.waiters.splice(i, 1);
      else i += 1;
    }
    connection.run(this.options.script).catch((error: unknown) => {
      // A script that stops because the victim hung up is not an error of the script.
      if (!connection.isClosed) this.scriptErrors.push(error);
    });
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A block the victim asked for. */
export interface BlockRequest {
  index: number;
  offset: number;
  length: number;
}

/** One accepted connection: the victim's side is parsed just enough to follow the handshakes. */
export class HostileConnection {
  /** Resolves when the victim (or the test) closes the connection; never rejects. */
  readonly closed: Promise<void>;
  isClosed = false;
  /** The connecting client's peer id (hex), once its handshake has arrived. */
  remotePeerId: string | undefined;
  /** Bytes this peer managed to hand to the socket (what the victim may have read). */
  bytesSent = 0;
  /** Ids of the messages the victim sent after its handshake, in order (at most 10,000). */
  readonly receivedIds: number[] = [];
  /** Bytes of blocks (the payload of 'piece' messages) the victim delivered. */
  pieceBytesReceived = 0;
  private requestListener: ((request: BlockRequest) => void) | undefined;
  private readonly socket: net.Socket;
  private readonly options: MaliciousPeerOptions;
  private readonly peerId: Buffer;
  private readonly handshake = deferred<{ reserved: Buffer; infoHash: string; peerId: Buffer }>();
  private readonly extendedHandshake = deferred<Record<string, unknown>>();
  private pending: Buffer = Buffer.alloc(0);
  private gotHandshake = false;
  private skipBytes = 0;

  constructor(socket: net.Socket, options: MaliciousPeerOptions, peerId: Buffer) {
    this.socket = socket;
    this.options = options;
    this.peerId = peerId;
    socket.setNoDelay(true);
    const closed = deferred<void>();
    this.closed = closed.promise;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined); // a reset is how a victim drops us: not an error here
    socket.on('close', () => {
      this.isClosed = true;
      closed.resolve();
    });
  }

  /** The victim's `m` dictionary from its extended handshake, once it arrives. */
  async victimExtensions(timeoutMs = 10_000): Promise<Record<string, number>> {
    const handshake = await withTimeout(this.extendedHandshake.promise, timeoutMs, 'the victim extended handshake');
    const m = handshake.m;
    if (m === null || typeof m !== 'object') throw new Error('the victim sent no `m` in its extended handshake');
    return m as Record<string, number>;
  }

  /** Waits for the victim to hang up; resolves false if it has not within `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([this.closed.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Writes raw bytes; resolves false (never rejects) once the connection is closed. */
  send(bytes: Uint8Array): Promise<boolean> {
    if (this.isClosed || this.socket.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const flushed = this.socket.write(bytes, (error) => {
        if (error) return resolve(false);
        this.bytesSent += bytes.length;
        if (flushed) resolve(true);
      });
      if (!flushed) {
        const onDrain = () => {
          this.socket.off('close', onClose);
          resolve(!this.isClosed);
        };
        const onClose = () => {
          this.socket.off('drain', onDrain);
          resolve(false);
        };
        this.socket.once('drain', onDrain);
        this.socket.once('close', onClose);
      }
    });
  }

  /** A length-prefixed message: `<length = 1 + payload><id><payload>`, or with the length given. */
  message(id: number, payload: Uint8Array = new Uint8Array(), declaredLength = 1 + payload.length): Promise<boolean> {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(declaredLength >>> 0, 0);
    header[4] = id;
    return this.send(Buffer.concat([header, payload]));
  }

  /** An extended message (BEP 10) with the victim's id `extId`. */
  extended(extId: number, payload: Uint8Array): Promise<boolean> {
    return this.message(MessageId.extended, Buffer.concat([Buffer.from([extId]), payload]));
  }

  /** A ut_metadata message to the victim (to the id its extended handshake gave), with an optional trailer. */
  async utMetadata(dict: Record<string, unknown>, trailer: Uint8Array = new Uint8Array()): Promise<boolean> {
    const extensions = await this.victimExtensions();
    const id = extensions.ut_metadata;
    if (typeof id !== 'number') throw new Error('the victim does not speak ut_metadata');
    return this.extended(id, Buffer.concat([bencode.encode(dict), trailer]));
  }

  /**
   * Sends `total` bytes of zeros in writes of `chunkLength`, waiting for the socket to drain
   * between them (so the sender holds at most one chunk); stops once the victim hangs up.
   * Returns the bytes written.
   */
  async sendFiller(total: number, chunkLength = 1024 * 1024): Promise<number> {
    const chunk = Buffer.alloc(chunkLength);
    let sent = 0;
    while (sent < total) {
      const length = Math.min(chunkLength, total - sent);
      if (!(await this.send(length === chunkLength ? chunk : chunk.subarray(0, length)))) break;
      sent += length;
    }
    return sent;
  }

  /** Calls `listener` with each block the victim asks for from now on (its `request` messages). */
  onRequest(listener: (request: BlockRequest) => void): void {
    this.requestListener = listener;
  }

  /** Stops reading what the victim sends (its writes then pile up on its side). */
  stopReading(): void {
    this.socket.pause();
  }

  /**
   * From now on reads at most `bytesPerSecond` on average (a slow peer): what the victim sends
   * faster queues up in the kernel on its side.
   */
  readAtMost(bytesPerSecond: number): void {
    const start = Date.now();
    let read = 0;
    this.socket.on('data', (chunk: Buffer) => {
      read += chunk.length;
      const wait = start + (read / bytesPerSecond) * 1000 - Date.now();
      if (wait <= 0 || this.socket.isPaused()) return;
      this.socket.pause();
      setTimeout(() => this.socket.resume(), wait).unref();
    });
  }

  /**
   * Sends keep-alives back to back until the connection closes or `timeoutMs` has passed (a
   * talkative peer: something it sent is nearly always waiting to be read on the victim's side).
   */
  async chatter(timeoutMs: number): Promise<void> {
    const keepAlives = Buffer.alloc(64);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && (await this.send(keepAlives))) {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Handshakes, then the script. */
  async run(script: HostileScript): Promise<void> {
    const victim = await withTimeout(this.handshake.promise, 10_000, 'the victim handshake');
    if (victim.infoHash !== this.options.infoHash) throw new Error(`victim asked for ${victim.infoHash}`);
    const reserved = Buffer.alloc(8);
    reserved[5] = 0x10; // BEP 10 extension protocol
    if (this.options.fast === true) reserved[7] = 0x04; // BEP 6 fast extension
    await this.send(handshakeBytes(this.options.infoHash, this.peerId, reserved));
    const extended =
      this.options.extendedHandshake === undefined ? { m: { ut_metadata: 3 } } : this.options.extendedHandshake;
    if (extended !== null) await this.extended(0, bencode.encode(extended));
    await script(this);
  }

  private onData(chunk: Buffer): void {
    if (this.skipBytes > 0) {
      const skipped = Math.min(this.skipBytes, chunk.length);
      this.skipBytes -= skipped;
      chunk = chunk.subarray(skipped);
    }
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    if (!this.gotHandshake) {
      if (this.pending.length < HANDSHAKE_LENGTH) return;
      const handshake = this.pending.subarray(0, HANDSHAKE_LENGTH);
      this.pending = this.pending.subarray(HANDSHAKE_LENGTH);
      this.gotHandshake = true;
      this.remotePeerId = handshake.subarray(48, 68).toString('hex');
      this.handshake.resolve({
        reserved: Buffer.from(handshake.subarray(20, 28)),
        infoHash: handshake.subarray(28, 48).toString('hex'),
        peerId: Buffer.from(handshake.subarray(48, 68)),
      });
    }
    while (this.pending.length >= 4) {
      const length = this.pending.readUInt32BE(0);
      if (length > MAX_RECEIVED_MESSAGE) {
        // Not a message a test needs: skip it without holding it.
        this.skipBytes = Math.max(0, 4 + length - this.pending.length);
        this.pending = Buffer.alloc(0);
        return;
      }
      if (this.pending.length < 4 + length) return;
      const message = this.pending.subarray(4, 4 + length);
      this.pending = this.pending.subarray(4 + length);
      if (length === 0) continue; // keep-alive
      const id = message[0] ?? -1;
      if (this.receivedIds.length < 10_000) this.receivedIds.push(id);
      if (id === MessageId.piece && length > 9) this.pieceBytesReceived += length - 9;
      if (id === MessageId.request && length === 13) {
        this.requestListener?.({
          index: message.readUInt32BE(1),
          offset: message.readUInt32BE(5),
          length: message.readUInt32BE(9),
        });
      }
      if (id === MessageId.extended && message[1] === 0) {
        try {
          this.extendedHandshake.resolve(bencode.decode(message.subarray(2)) as Record<string, unknown>);
        } catch {
          // a victim that sends garbage: the test will time out waiting for it
        }
      }
    }
  }
}

function percentEncode(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
}

function httpGet(url: string, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { signal: AbortSignal.timeout(timeoutMs) }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve(Buffer.concat(chunks)));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
