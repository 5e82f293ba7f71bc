/**
 * Watch while it downloads: `GET`/`HEAD /stream/{id}` (the job's main video file) and
 * `/stream/{id}/files/{index}`, with single byte ranges (RFC 9110 §14), readable before the bytes
 * are on disk: the service asks the engine for the pieces under the read first and waits for them.
 * Players cannot send headers, so these routes take a signed link (`?t=…`, see stream-token.ts)
 * as well as the bearer token; `GET /download/stream-url/{id}` hands links out. A link names the
 * job and its torrent: another torrent added later under the same id does not open with it.
 *
 * Every read is tied to the HTTP response: when the player goes away the read is aborted, so the
 * engine's waits end, its listeners and priority requests go, and the file handle is closed.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ChillyError } from '../../domain/errors.js';
import type { Job } from '../../domain/job.js';
import { VIDEO_MEDIA_TYPES } from '../../domain/media-types.js';
import type { DownloadServiceApi, JobFileStream } from '../../service/download-service-api.js';
import { mainFileIndex } from '../../service/job-files.js';
import { routeSchema, toFastifyPath } from '../contract.js';
import { sendError } from '../errors.js';
import { type AuthFailureLimiter, createTokenCheck } from '../security.js';
import type { StreamSubject, StreamTokenCheck, StreamTokens } from '../stream-token.js';

export interface StreamRoutesOptions {
  service: DownloadServiceApi;
  /** The API token: the bearer header works here too. */
  token: string;
  tokens: StreamTokens;
  /** Shared with the bearer check, so wrong links and wrong tokens count alike. */
  limiter: AuthFailureLimiter;
  /** How long a read waits for missing data before `504 stream_timeout`. */
  waitMs: number;
}

/**
 * Media types by extension, for the files of a movie torrent. Anything else is sent as
 * `application/octet-stream`: a torrent's `.html` or `.svg` must never render in the API's origin.
 * The contract lists exactly these types (a test keeps the two equal).
 */
export const STREAM_MEDIA_TYPES: Readonly<Record<string, string>> = {
  ...VIDEO_MEDIA_TYPES,
  '.mka': 'audio/x-matroska',
  '.mp3': 'audio/mpeg',
  '.m4a': 'audio/mp4',
  '.aac': 'audio/aac',
  '.flac': 'audio/flac',
  '.ogg': 'audio/ogg',
  '.opus': 'audio/ogg',
  '.wav': 'audio/wav',
  '.srt': 'application/x-subrip',
  '.vtt': 'text/vtt',
};
export const FALLBACK_MEDIA_TYPE = 'application/octet-stream';

export function mediaTypeOf(filePath: string): string {
  return STREAM_MEDIA_TYPES[path.extname(filePath).toLowerCase()] ?? FALLBACK_MEDIA_TYPE;
}

export type RangeDecision =
  | { kind: 'whole' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

const WHOLE: RangeDecision = { kind: 'whole' };

/**
 * What to send for a `Range` header on a `length`-byte file (RFC 9110 §14.1.2, §14.2):
 * - no header, another unit, bad syntax, an invalid spec such as `bytes=5-1`: the header is
 *   ignored and the whole file is sent (200), as the RFC requires of an unparsable range set;
 * - several ranges: ignored too (200 with the whole file), which the RFC allows. Players ask for
 *   one range at a time, and multipart/byteranges would only serve download managers;
 * - one range: `a-b` (b clamped to the last byte), `a-`, or the suffix `-n` (the last n bytes,
 *   the whole file when n ≥ length) → 206; a start at or past the end, or `-0` → 416.
 */
export function decideRange(header: string | undefined, length: number): RangeDecision {
  if (header === undefined || !/^bytes=/i.test(header)) return WHOLE;
  // A list may carry empty elements and optional whitespace (RFC 9110 §5.6.1).
  const specs = header
    .slice('bytes='.length)
    .split(',')
    .map((spec) => spec.replace(/^[ \t]+|[ \t]+$/g, ''))
    .filter((spec) => spec !== '');
  const spec = specs[0];
  if (spec === undefined || specs.length > 1) return WHOLE;
  // Digit strings longer than any file become huge or Infinity: the comparisons below still hold.
  const suffix = /^-([0-9]+)$/.exec(spec);
  if (suffix?.[1] !== undefined) {
    const count = Number(suffix[1]);
    if (count === 0) return { kind: 'unsatisfiable' };
    // The last bytes of an empty file are no bytes: nothing to cut out of it.
    if (length === 0) return WHOLE;
    return { kind: 'partial', start: Math.max(0, length - count), end: length - 1 };
  }
  const bounded = /^([0-9]+)-([0-9]*)$/.exec(spec);
  if (bounded?.[1] === undefined) return WHOLE;
  const first = Number(bounded[1]);
  const last = bounded[2] === undefined || bounded[2] === '' ? Number.POSITIVE_INFINITY : Number(bounded[2]);
  if (last < first) return WHOLE;
  if (first >= length) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start: first, end: Math.min(last, length - 1) };
}

/** The file's identity: a torrent's content never changes, so the info-hash is a strong validator. */
function entityTag(infoHash: string | undefined, index: number): string | undefined {
  return infoHash === undefined ? undefined : `"${infoHash}-${index}"`;
}

/** The Range header to honour: none when an `If-Range` names another version (or a date: we send none). */
function effectiveRange(request: FastifyRequest, etag: string | undefined): string | undefined {
  const ifRange = request.headers['if-range'];
  if (ifRange === undefined) return request.headers.range;
  return etag !== undefined && typeof ifRange === 'string' && ifRange.trim() === etag
    ? request.headers.range
    : undefined;
}

const DISCONNECTED = 'The player closed the connection.';

interface StreamParams {
  id: string;
  index?: string;
}

export async function streamRoutes(app: FastifyInstance, options: StreamRoutesOptions): Promise<void> {
  const { service, tokens, limiter } = options;
  const bearerMatches = createTokenCheck(options.token);
  const open = new Set<{ controller: AbortController; reply: FastifyReply }>();

  // Players keep connections open for as long as the film lasts; closing the server ends them.
  app.addHook('preClose', async () => {
    for (const stream of open) {
      stream.controller.abort(new ChillyError('shutting_down', 'The server is shutting down.'));
      stream.reply.raw.destroy();
    }
  });

  /**
   * The signed link or the bearer token. These routes are marked public so the global bearer
   * check skips them; this hook is their check, with the same failure limiter.
   */
  const authorise = async (request: FastifyRequest, reply: FastifyReply) => {
    const address = request.ip;
    if (bearerMatches(request.headers.authorization)) {
      limiter.recordSuccess(address);
      return;
    }
    const { id } = request.params as Partial<StreamParams>;
    const { t } = request.query as { t?: unknown };
    const subject = typeof id === 'string' ? currentSubject(service, id) : undefined;
    // No such job: no link can be valid for it (and the answer says nothing about which jobs exist).
    const check: StreamTokenCheck =
      subject !== undefined ? tokens.check(t, subject) : t === undefined || t === '' ? 'missing' : 'bad_signature';
    if (check === 'valid') return;
    const waitMs = limiter.retryAfterMs(address);
    if (waitMs > 0) {
      reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
      return sendError(reply, new ChillyError('rate_limited'));
    }
    limiter.recordFailure(address);
    request.log.warn({ address, check }, 'stream authentication failed');
    reply.header('www-authenticate', 'Bearer');
    return sendError(reply, new ChillyError('unauthorized', unauthorisedMessage(check)));
  };

  const serve = async (request: FastifyRequest<{ Params: StreamParams }>, reply: FastifyReply) => {
    const head = request.method === 'HEAD';
    const controller = new AbortController();
    const entry = { controller, reply };
    open.add(entry);
    reply.raw.once('close', () => {
      open.delete(entry);
      if (!reply.raw.writableFinished) controller.abort(new ChillyError('stream_unavailable', DISCONNECTED));
    });

    const { id, index } = request.params;
    const file = await service.openFile(id, index === undefined ? undefined : Number(index));
    // The player may have left while the metadata was awaited: nothing to answer.
    if (controller.signal.aborted) return reply.hijack();
    const etag = entityTag(service.get(id).infoHash, file.index);
    // RFC 9110 §14.2: Range is defined for GET only; HEAD describes the whole file.
    const range = head ? WHOLE : decideRange(effectiveRange(request, etag), file.length);
    reply.header('accept-ranges', 'bytes');
    if (range.kind === 'unsatisfiable') {
      reply.header('content-range', `bytes */${file.length}`);
      throw new ChillyError('range_not_satisfiable', `The file has ${file.length} bytes; ask for a range inside them.`);
    }
    const start = range.kind === 'partial' ? range.start : 0;
    const end = range.kind === 'partial' ? range.end : file.length - 1;
    const body =
      head || file.length === 0 ? undefined : await firstChunkThenRest(file, start, end, controller, options);
    if (body === 'aborted') return reply.hijack();

    // Only now, with the first bytes in hand, is the answer known to be a success.
    reply.code(range.kind === 'partial' ? 206 : 200).header('content-type', mediaTypeOf(file.path));
    if (etag !== undefined) reply.header('etag', etag);
    if (range.kind === 'partial') reply.header('content-range', `bytes ${start}-${end}/${file.length}`);
    reply.header('content-length', String(head ? file.length : end - start + 1));
    // A failure after this point cannot change the status any more: Fastify destroys the socket,
    // which a player reads as a dropped connection and retries with a new range.
    return reply.send(body);
  };

  const config = { public: true };
  for (const openApiPath of ['/stream/{id}', '/stream/{id}/files/{index}'] as const) {
    for (const method of ['GET', 'HEAD'] as const) {
      app.route<{ Params: StreamParams }>({
        method,
        url: toFastifyPath(openApiPath),
        config,
        onRequest: authorise,
        schema: routeSchema(method, openApiPath),
        handler: serve,
      });
    }
  }

  app.route<{ Params: { id: string; n: string } }>({
    method: 'GET',
    url: toFastifyPath('/stream/{id}/subtitles/{n}'),
    config,
    onRequest: authorise,
    schema: routeSchema('GET', '/stream/{id}/subtitles/{n}'),
    handler: async (request, reply) => {
      const controller = new AbortController();
      reply.raw.once('close', () => controller.abort(new ChillyError('stream_unavailable', DISCONNECTED)));
      const text = await service.subtitleWebVtt(request.params.id, Number(request.params.n), {
        signal: controller.signal,
        timeoutMs: options.waitMs,
      });
      return reply.code(200).header('content-type', 'text/vtt; charset=utf-8').send(text);
    },
  });

  app.get<{ Params: { id: string }; Querystring: { fileIndex?: number } }>(
    '/download/stream-url/:id',
    { schema: routeSchema('get', '/download/stream-url/{id}') },
    async (request) => {
      const job = service.get(request.params.id);
      const requested = request.query.fileIndex;
      if (requested !== undefined && job.files !== undefined && job.files[requested] === undefined) {
        throw new ChillyError('file_not_found', `Job ${JSON.stringify(job.id)} has ${job.files.length} files.`);
      }
      // Unknown until a magnet's metadata arrives; the link works before that all the same.
      const fileIndex =
        requested ?? (job.files === undefined || job.files.length === 0 ? null : mainFileIndex(job.files));
      const { token, expiresAt } = tokens.issue(subjectOf(job));
      const where = `/stream/${encodeURIComponent(job.id)}${requested === undefined ? '' : `/files/${requested}`}`;
      // The Host header passed the allow-list, so the link names this server as the client reached it.
      const origin = `${request.protocol}://${request.headers.host}`;
      const subtitles = (job.subtitles ?? []).map((subtitle) => ({
        n: subtitle.n,
        label: subtitle.label,
        language: subtitle.language?.code ?? null,
        forced: subtitle.forced,
        sdh: subtitle.sdh,
        videoIndex: subtitle.videoIndex,
        url: `${origin}/stream/${encodeURIComponent(job.id)}/subtitles/${subtitle.n}?t=${token}`,
      }));
      return {
        subtitles,
        url: `${origin}${where}?t=${token}`,
        expiresAt: new Date(expiresAt * 1000).toISOString(),
        fileIndex,
      };
    },
  );
}

/** What a link for this job opens: the job id and the torrent it holds now (every stored job has one). */
function subjectOf(job: Pick<Job, 'id' | 'infoHash'>): StreamSubject {
  return { jobId: job.id, infoHash: job.infoHash ?? '' };
}

/** The job's current subject, or undefined when there is no job with this id. */
function currentSubject(service: DownloadServiceApi, id: string): StreamSubject | undefined {
  try {
    return subjectOf(service.get(id));
  } catch (error) {
    if (error instanceof ChillyError && error.code === 'job_not_found') return undefined;
    throw error;
  }
}

function unauthorisedMessage(check: StreamTokenCheck): string {
  if (check === 'expired') return 'This stream link has expired: ask GET /download/stream-url/{id} for a new one.';
  if (check === 'missing') return 'A stream link (?t=…) or the API token is required.';
  return 'This stream link is not valid for this job.';
}

/**
 * Starts reading and waits for the first chunk, so that a failure before any byte (timeout,
 * paused job) still gets its own status and JSON error. Returns the body to send, or 'aborted'
 * when the player left meanwhile.
 */
async function firstChunkThenRest(
  file: JobFileStream,
  start: number,
  end: number,
  controller: AbortController,
  options: Pick<StreamRoutesOptions, 'waitMs'>,
): Promise<Readable | 'aborted'> {
  const chunks = file
    .read(start, end, { signal: controller.signal, timeoutMs: options.waitMs })
    [Symbol.asyncIterator]();
  let first: IteratorResult<Uint8Array>;
  try {
    first = await chunks.next();
  } catch (error) {
    if (controller.signal.aborted) return 'aborted';
    throw error;
  }
  async function* rest(): AsyncGenerator<Uint8Array> {
    try {
      if (first.done === true) return;
      yield first.value;
      for (;;) {
        const next = await chunks.next();
        if (next.done === true) return;
        yield next.value;
      }
    } finally {
      // Runs when the response ends, fails or is destroyed: the reader releases its file handle.
      await chunks.return?.(undefined);
    }
  }
  return Readable.from(rest(), { objectMode: false, highWaterMark: 1024 * 1024 });
}
