/**
 * A real HTTP file server on 127.0.0.1 for the direct-download driver's tests: files with an ETag
 * and Last-Modified, single byte ranges with `If-Range`, an optional pace (bytes per second), a
 * connection dropped after so many bytes, and a log of every request and of every body byte sent.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mulberry32 } from './seeded-random.js';

export interface ServedFile {
  body: Buffer;
  etag?: string;
  lastModified?: string;
  contentType?: string;
  contentDisposition?: string;
  /** Default true: `Range` is honoured. */
  ranges?: boolean;
}

export interface LoggedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  at: number;
  status: number;
  /** Body bytes written to this request's socket. */
  bytesSent: number;
}

/** Answers the request itself (return true) before the file is served. */
export type Intercept = (request: IncomingMessage, response: ServerResponse, log: LoggedRequest) => boolean;

export interface HttpFileServer {
  /** `http://127.0.0.1:<port><path>`. */
  url(path: string): string;
  readonly port: number;
  readonly files: Map<string, ServedFile>;
  readonly requests: LoggedRequest[];
  /** Body bytes sent over all requests. */
  bytesSent(): number;
  /** Responses whose connection is still open. */
  openResponses(): number;
  /** Bytes per second per response (undefined: as fast as the socket takes them). */
  bytesPerSecond: number | undefined;
  /** The next response that sends a body cuts its connection after this many body bytes. */
  dropNextAfter: number | undefined;
  intercept: Intercept | undefined;
  close(): Promise<void>;
}

const CHUNK_BYTES = 64 * 1024;

/** `size` bytes that are the same for the same seed. */
export function seededBytes(size: number, seed: number): Buffer {
  const random = mulberry32(seed);
  const words = new Uint32Array(Math.ceil(size / 4));
  for (let index = 0; index < words.length; index++) words[index] = Math.floor(random() * 4_294_967_296);
  return Buffer.from(words.buffer, 0, size);
}

export async function startHttpFileServer(): Promise<HttpFileServer> {
  const files = new Map<string, ServedFile>();
  const requests: LoggedRequest[] = [];
  const open = new Set<ServerResponse>();
  const state: Pick<HttpFileServer, 'bytesPerSecond' | 'dropNextAfter' | 'intercept'> = {
    bytesPerSecond: undefined,
    dropNextAfter: undefined,
    intercept: undefined,
  };
  const server = createServer((request, response) => {
    const log: LoggedRequest = {
      path: request.url ?? '/',
      headers: request.headers,
      at: Date.now(),
      status: 0,
      bytesSent: 0,
    };
    requests.push(log);
    open.add(response);
    response.once('close', () => open.delete(response));
    if (state.intercept?.(request, response, log) === true) return;
    const file = files.get(new URL(log.path, 'http://x').pathname);
    if (file === undefined) {
      log.status = 404;
      response.writeHead(404).end();
      return;
    }
    void serve(file, request, response, log, state);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    files,
    requests,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    bytesSent: () => requests.reduce((sum, request) => sum + request.bytesSent, 0),
    openResponses: () => open.size,
    get bytesPerSecond() {
      return state.bytesPerSecond;
    },
    set bytesPerSecond(value) {
      state.bytesPerSecond = value;
    },
    get dropNextAfter() {
      return state.dropNextAfter;
    },
    set dropNextAfter(value) {
      state.dropNextAfter = value;
    },
    get intercept() {
      return state.intercept;
    },
    set intercept(value) {
      state.intercept = value;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The bytes to send: all of it, or one `bytes=a-` / `bytes=a-b` range when allowed and still valid. */
function rangeOf(file: ServedFile, request: IncomingMessage): { start: number; end: number; partial: boolean } {
  const whole = { start: 0, end: file.body.length - 1, partial: false };
  const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
  if (range === null || file.ranges === false) return whole;
  const ifRange = request.headers['if-range'];
  if (ifRange !== undefined && ifRange !== file.etag && ifRange !== file.lastModified) return whole;
  const start = Number(range[1]);
  const end = range[2] === '' ? file.body.length - 1 : Math.min(file.body.length - 1, Number(range[2]));
  return { start, end, partial: true };
}

async function serve(
  file: ServedFile,
  request: IncomingMessage,
  response: ServerResponse,
  log: LoggedRequest,
  state: Pick<HttpFileServer, 'bytesPerSecond' | 'dropNextAfter'>,
): Promise<void> {
  const { start, end, partial } = rangeOf(file, request);
  const headers: Record<string, string> = { 'content-type': file.contentType ?? 'video/x-matroska' };
  if (file.etag !== undefined) headers.etag = file.etag;
  if (file.lastModified !== undefined) headers['last-modified'] = file.lastModified;
  if (file.contentDisposition !== undefined) headers['content-disposition'] = file.contentDisposition;
  if (file.ranges !== false) headers['accept-ranges'] = 'bytes';
  if (partial && start >= file.body.length) {
    log.status = 416;
    response.writeHead(416, { ...headers, 'content-range': `bytes */${file.body.length}` }).end();
    return;
  }
  if (partial) headers['content-range'] = `bytes ${start}-${end}/${file.body.length}`;
  headers['content-length'] = String(end - start + 1);
  log.status = partial ? 206 : 200;
  response.writeHead(log.status, headers);
  const dropAfter = state.dropNextAfter;
  state.dropNextAfter = undefined;
  let closed = false;
  response.once('close', () => {
    closed = true;
  });
  const began = Date.now();
  let position = start;
  while (position <= end && !closed) {
    const size = Math.min(
      CHUNK_BYTES,
      end + 1 - position,
      dropAfter === undefined ? CHUNK_BYTES : dropAfter - log.bytesSent,
    );
    if (size <= 0) {
      // Exactly `dropAfter` bytes reach the client (written ones are flushed), then the connection ends.
      response.socket?.end();
      return;
    }
    const flowing = response.write(file.body.subarray(position, position + size));
    log.bytesSent += size;
    position += size;
    if (!flowing) await drainedOrClosed(response);
    const pace = state.bytesPerSecond;
    if (pace !== undefined) {
      const due = began + (log.bytesSent / pace) * 1000;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    }
  }
  if (!closed) response.end();
}

/** Waits for the socket to take more (or to close), leaving no listener behind. */
async function drainedOrClosed(response: ServerResponse): Promise<void> {
  const done = new AbortController();
  await Promise.race([
    once(response, 'drain', { signal: done.signal }),
    once(response, 'close', { signal: done.signal }),
  ]).finally(() => done.abort());
}
