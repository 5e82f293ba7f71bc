/**
 * The CLI's side of the HTTP API (contracts/openapi.downloads.yaml): fetch on 127.0.0.1 with the
 * token from the data folder, API errors turned into `ApiError { code, message }`, and an
 * SSE reader for GET /events (which needs the Authorization header, so no EventSource).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TOKEN_FILE_NAME } from '../api/token.js';
import type { ChillyConfig } from '../config.js';
import type { Job, JobStatus } from '../domain/job.js';
import type { MovieSearchPage } from '../metadata/metadata-fetcher.js';
import type { JobPage } from '../service/service-types.js';
import { CliError } from './io.js';
import { type SseMessage, SseParser } from './sse.js';
import { terminalSafe } from './terminal-text.js';

export interface Health {
  ok: boolean;
  activeDownloads: number;
  queued: number;
}

/** An answer from the server in the API's error shape (or something that is not our server). */
export class ApiError extends CliError {
  readonly status: number;

  constructor(status: number, code: string, message: string) {
    super(message, { code });
    this.status = status;
  }
}

export interface EventStream extends AsyncIterable<SseMessage> {
  close(): void;
}

export interface ApiClientOptions {
  baseUrl: string;
  /** undefined only for the routes that need none (/health). */
  token: string | undefined;
  /** Where the token came from, for the hint when the server rejects it. */
  tokenSource?: string;
  timeoutMs?: number;
}

const JSON_TYPE = 'application/json';

/** The address a client uses for the configured listening address ("all interfaces" means this machine). */
export function clientBaseUrl(config: Pick<ChillyConfig, 'host' | 'port'>): string {
  let host = config.host.trim().replace(/^\[(.*)\]$/, '$1');
  if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly tokenSource: string;
  private readonly timeoutMs: number;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.tokenSource = options.tokenSource ?? 'the token';
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** POST /download/start; `created` is false when the same id and source already existed. */
  async start(id: string, sourceUrn: string): Promise<{ job: Job; created: boolean }> {
    const { status, body } = await this.request('POST', '/download/start', {
      json: { id, sourceType: 'torrent', sourceUrn },
    });
    return { job: body as Job, created: status === 201 };
  }

  /** POST /download/upload with the .torrent bytes. */
  async upload(id: string, torrentFile: Uint8Array): Promise<{ job: Job; created: boolean }> {
    const { status, body } = await this.request('POST', `/download/upload?id=${encodeURIComponent(id)}`, {
      bytes: torrentFile,
    });
    return { job: body as Job, created: status === 201 };
  }

  async pause(id: string): Promise<Job> {
    return (await this.request('POST', '/download/pause', { json: { id } })).body as Job;
  }

  async resume(id: string): Promise<Job> {
    return (await this.request('POST', '/download/resume', { json: { id } })).body as Job;
  }

  async cancel(id: string, keepData?: boolean): Promise<Job> {
    const json = keepData === undefined ? { id } : { id, keepData };
    return (await this.request('POST', '/download/cancel', { json })).body as Job;
  }

  async status(id: string): Promise<Job> {
    return (await this.request('GET', `/download/status/${encodeURIComponent(id)}`)).body as Job;
  }

  async list(query: { status?: readonly JobStatus[]; limit?: number; offset?: number } = {}): Promise<JobPage> {
    const params = new URLSearchParams();
    if (query.status !== undefined && query.status.length > 0) params.set('status', query.status.join(','));
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    if (query.offset !== undefined) params.set('offset', String(query.offset));
    const search = params.size > 0 ? `?${params}` : '';
    return (await this.request('GET', `/downloads${search}`)).body as JobPage;
  }

  /** GET /metadata/search: movies at TMDB, asked by the server (its key, its cache). */
  async searchMovies(query: string, options: { year?: number; page?: number } = {}): Promise<MovieSearchPage> {
    const params = new URLSearchParams({ query });
    if (options.year !== undefined) params.set('year', String(options.year));
    if (options.page !== undefined) params.set('page', String(options.page));
    return (await this.request('GET', `/metadata/search?${params}`)).body as MovieSearchPage;
  }

  async health(timeoutMs?: number): Promise<Health> {
    const { body } = await this.request('GET', '/health', {
      auth: false,
      okStatuses: [503],
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    if (!isHealth(body)) {
      throw new ApiError(200, 'not_chilly', `${this.baseUrl} answers, but not like a Chilly Movies server.`);
    }
    return body;
  }

  /** Opens GET /events; resolves once the server has answered 200. `lastEventId` replays what was missed. */
  async openEvents(options: { lastEventId?: number; signal?: AbortSignal } = {}): Promise<EventStream> {
    const controller = new AbortController();
    const abort = (): void => controller.abort();
    options.signal?.addEventListener('abort', abort, { once: true });
    const headers: Record<string, string> = { accept: 'text/event-stream', ...this.authHeader() };
    if (options.lastEventId !== undefined) headers['last-event-id'] = String(options.lastEventId);
    const connectTimer = setTimeout(abort, this.timeoutMs);
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/events`, { headers, signal: controller.signal });
    } catch (cause) {
      options.signal?.removeEventListener('abort', abort);
      throw this.unreachable(cause);
    } finally {
      clearTimeout(connectTimer);
    }
    if (response.status !== 200 || response.body === null) {
      options.signal?.removeEventListener('abort', abort);
      throw this.apiError(response.status, await response.text().catch(() => ''));
    }
    const body = response.body;
    const close = (): void => {
      options.signal?.removeEventListener('abort', abort);
      controller.abort();
    };
    return {
      close,
      async *[Symbol.asyncIterator]() {
        const parser = new SseParser();
        const decoder = new TextDecoder();
        try {
          for await (const chunk of body) {
            yield* parser.push(decoder.decode(chunk as Uint8Array, { stream: true }));
          }
        } catch (error) {
          // Our own close (or the caller's abort) ends the stream quietly; anything else is a drop.
          if (!controller.signal.aborted) throw error;
        } finally {
          close();
        }
      },
    };
  }

  private authHeader(): Record<string, string> {
    return this.token === undefined ? {} : { authorization: `Bearer ${this.token}` };
  }

  private async request(
    method: 'GET' | 'POST',
    route: string,
    options: { json?: unknown; bytes?: Uint8Array; auth?: boolean; okStatuses?: number[]; timeoutMs?: number } = {},
  ): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = { accept: JSON_TYPE, ...(options.auth === false ? {} : this.authHeader()) };
    let body: string | Uint8Array | undefined;
    if (options.json !== undefined) {
      headers['content-type'] = JSON_TYPE;
      body = JSON.stringify(options.json);
    } else if (options.bytes !== undefined) {
      headers['content-type'] = 'application/x-bittorrent';
      body = options.bytes;
    }
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.baseUrl}${route}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(options.timeoutMs ?? this.timeoutMs),
      });
      text = await response.text();
    } catch (cause) {
      throw this.unreachable(cause);
    }
    if (!response.ok && !(options.okStatuses ?? []).includes(response.status)) {
      throw this.apiError(response.status, text);
    }
    try {
      return { status: response.status, body: JSON.parse(text) as unknown };
    } catch {
      throw new ApiError(response.status, 'not_chilly', `${this.baseUrl} answered with something other than JSON.`);
    }
  }

  private apiError(status: number, text: string): ApiError {
    let error: { code?: unknown; message?: unknown } | undefined;
    try {
      error = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
    } catch {
      error = undefined;
    }
    if (typeof error?.code !== 'string') {
      return new ApiError(
        status,
        'not_chilly',
        `${this.baseUrl} answered HTTP ${status} without a Chilly Movies error: is another program using this port?`,
      );
    }
    let message = typeof error.message === 'string' ? error.message : '';
    if (error.code === 'unauthorized') {
      message +=
        ` The server rejected ${this.tokenSource}: is it running with another data folder? ` +
        'Point the CLI at the same one (--data-dir or CHILLY_DATA_DIR), or set CHILLY_TOKEN to its token.';
    }
    // A server's words, printed by every command (and `chilly doctor` prints them as they are):
    // made safe here once, for whoever shows them.
    return new ApiError(status, terminalSafe(error.code), terminalSafe(message));
  }

  private unreachable(cause: unknown): CliError {
    const reason = networkReason(cause, this.timeoutMs);
    return new CliError(
      `Cannot reach the Chilly Movies server at ${this.baseUrl} (${reason}). Is \`chilly serve\` running? ` +
        'Start it with `chilly serve`, or point the CLI at it with --host/--port (CHILLY_HOST/CHILLY_PORT).',
      { code: 'server_unreachable', cause },
    );
  }
}

function networkReason(cause: unknown, timeoutMs: number): string {
  if (cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError')) {
    return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  }
  const code = (cause as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (typeof code === 'string') return code;
  return cause instanceof Error ? cause.message : String(cause);
}

function isHealth(value: unknown): value is Health {
  const health = value as Partial<Health> | null;
  return (
    typeof health === 'object' &&
    health !== null &&
    typeof health.ok === 'boolean' &&
    typeof health.activeDownloads === 'number' &&
    typeof health.queued === 'number'
  );
}

export interface ClientToken {
  token: string;
  /** For messages: "CHILLY_TOKEN" or "the token in <file>". */
  source: string;
  file: string | undefined;
}

export function tokenFilePath(config: Pick<ChillyConfig, 'dataDir'>): string {
  return path.join(config.dataDir, TOKEN_FILE_NAME);
}

/** The configured token, else the one `chilly serve` wrote into the data folder (never creates one). */
export async function readClientToken(
  config: Pick<ChillyConfig, 'dataDir' | 'token'>,
): Promise<ClientToken | undefined> {
  if (config.token !== undefined) return { token: config.token, source: 'the token in CHILLY_TOKEN', file: undefined };
  const file = tokenFilePath(config);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new CliError(`Cannot read the API token file ${file} (${code ?? String(cause)}).`, { cause });
  }
  const token = text.trim();
  if (token.length < 16) {
    throw new CliError(`The API token file ${file} holds no usable token: delete it and restart \`chilly serve\`.`);
  }
  return { token, source: `the token in ${file}`, file };
}

/**
 * A client for the server the configuration points at. Without a token (no CHILLY_TOKEN and no
 * token file), it explains whether the server is down or uses another data folder.
 */
export async function connect(config: ChillyConfig): Promise<ApiClient> {
  const baseUrl = clientBaseUrl(config);
  const token = await readClientToken(config);
  if (token !== undefined) return new ApiClient({ baseUrl, token: token.token, tokenSource: token.source });
  const file = tokenFilePath(config);
  const probe = new ApiClient({ baseUrl, token: undefined, timeoutMs: 3_000 });
  try {
    await probe.health();
  } catch (error) {
    if (error instanceof CliError && error.code === 'server_unreachable') {
      throw new CliError(`${error.message} (No API token yet at ${file}: the server writes it on its first start.)`, {
        code: 'server_unreachable',
        cause: error,
      });
    }
    throw error;
  }
  throw new CliError(
    `A server answers at ${baseUrl}, but there is no API token at ${file}: it is using another data folder. ` +
      'Point the CLI at the same one (--data-dir or CHILLY_DATA_DIR), or set CHILLY_TOKEN to its token.',
    { code: 'unauthorized' },
  );
}
