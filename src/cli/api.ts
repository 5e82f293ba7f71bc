/**
 * The CLI's side of the HTTP API: the typed client (src/client) pointed at the server the
 * configuration names, with the token from the data folder, and every failure turned into a
 * `CliError` the CLI prints: an API error as `ApiError { status, code }` (made terminal-safe here),
 * no answer as `server_unreachable`, an answer that is not our API's as `not_chilly`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Middleware } from 'openapi-fetch';
import { TOKEN_FILE_NAME } from '../api/token.js';
import {
  apiErrorFromResponse,
  ChillyApiError,
  type ChillyClient,
  createChillyClient,
  type FetchFunction,
  type FetchResult,
  type Health,
  type JobEventStream,
  openJobEvents,
  UNEXPECTED_RESPONSE,
  unwrap,
} from '../client/index.js';
import type { ChillyConfig } from '../config/chilly-config.js';
import { MIN_TOKEN_LENGTH } from '../config/defaults.js';
import { CliError } from './io.js';
import { terminalSafe } from './terminal-text.js';

/** An answer from the server in the API's error shape (or something that is not our server). */
export class ApiError extends CliError {
  readonly status: number;

  constructor(status: number, code: string, message: string) {
    super(message, { code });
    this.status = status;
  }
}

export interface CliApiOptions {
  baseUrl: string;
  /** undefined only for the routes that need none (/health). */
  token: string | undefined;
  /** Where the token came from, for the hint when the server rejects it. */
  tokenSource?: string;
  /** Each request, its answer's body included; for GET /events, until the stream opens. Default 15 s. */
  timeoutMs?: number;
}

/** The address a client uses for the configured listening address ("all interfaces" means this machine). */
export function clientBaseUrl(config: Pick<ChillyConfig, 'host' | 'port'>): string {
  let host = config.host.trim().replace(/^\[(.*)\]$/, '$1');
  if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}

/**
 * The typed client, and `call()` to turn what it answers into data or a `CliError`:
 *
 * ```ts
 * const job = await api.call(api.client.POST('/download/pause', { body: { id } }));
 * ```
 */
export class CliApi {
  readonly baseUrl: string;
  readonly client: ChillyClient;
  private readonly token: string | undefined;
  private readonly tokenSource: string;
  private readonly timeoutMs: number;

  constructor(options: CliApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.tokenSource = options.tokenSource ?? 'the token';
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.client = createChillyClient({
      baseUrl: this.baseUrl,
      token: this.token,
      fetch: fetchWithin(this.timeoutMs),
      headers: { Accept: 'application/json' },
    });
    this.client.use(this.jsonAnswers());
  }

  /** The data of a successful answer; anything else (an API error, no answer) thrown as a CliError. */
  async call<Data>(pending: Promise<FetchResult<Data>>): Promise<Data> {
    return (await this.send(pending)).data;
  }

  /** As `call`, with the answer's status (`201` for a job just created, `200` for one that existed). */
  async send<Data>(pending: Promise<FetchResult<Data>>): Promise<{ data: Data; status: number }> {
    try {
      const result = await pending;
      return { data: unwrap(result), status: result.response.status };
    } catch (error) {
      throw this.cliError(error);
    }
  }

  /** GET /health; a server whose self-check fails answers 503 with the same body. */
  async health(): Promise<Health> {
    const result = await this.client.GET('/health').catch((error: unknown) => {
      throw this.cliError(error);
    });
    const { response } = result;
    if (response.ok) {
      if (isHealth(result.data)) return result.data;
    } else if (response.status === 503) {
      // openapi-fetch hands over an error body that is not JSON as its text (or nothing, when empty).
      if (result.error === undefined || typeof result.error === 'string') throw this.notJson(response.status);
      if (isHealth(result.error)) return result.error;
    } else {
      throw this.cliError(apiErrorFromResponse(response, result.error));
    }
    throw new ApiError(200, 'not_chilly', `${this.baseUrl} answers, but not like a Chilly Movies server.`);
  }

  /** Opens GET /events; resolves once the server has answered 200. `lastEventId` replays what was missed. */
  async openEvents(options: { lastEventId?: number; signal?: AbortSignal } = {}): Promise<JobEventStream> {
    try {
      return await openJobEvents({
        baseUrl: this.baseUrl,
        token: this.token,
        // Bounded until the stream opens, not after: it stays open for as long as the job runs.
        fetch: fetchWithin(this.timeoutMs, { untilHeaders: true }),
        lastEventId: options.lastEventId,
        signal: options.signal,
      });
    } catch (error) {
      throw this.cliError(error);
    }
  }

  /** An error of the client, or no answer at all, as the CliError the CLI prints. */
  private cliError(error: unknown): CliError {
    if (error instanceof CliError) return error;
    if (!(error instanceof ChillyApiError)) return this.unreachable(error);
    if (error.code === UNEXPECTED_RESPONSE) {
      if (error.status >= 200 && error.status < 300) {
        return new ApiError(
          error.status,
          'not_chilly',
          `${this.baseUrl} answers, but not like a Chilly Movies server.`,
        );
      }
      return new ApiError(
        error.status,
        'not_chilly',
        `${this.baseUrl} answered HTTP ${error.status} without a Chilly Movies error: is another program using this port?`,
      );
    }
    let message = error.message;
    if (error.code === 'unauthorized') {
      message +=
        ` The server rejected ${this.tokenSource}: is it running with another data folder? ` +
        'Point the CLI at the same one (--data-dir or CHILLY_DATA_DIR), or set CHILLY_TOKEN to its token.';
    }
    // A server's words, printed by every command (and `chilly doctor` prints them as they are):
    // made safe here once, for whoever shows them.
    return new ApiError(error.status, terminalSafe(error.code), terminalSafe(message));
  }

  private notJson(status: number): ApiError {
    return new ApiError(status, 'not_chilly', `${this.baseUrl} answered with something other than JSON.`);
  }

  /** A success whose body is not JSON is not our server (openapi-fetch would throw a bare SyntaxError). */
  private jsonAnswers(): Middleware {
    return {
      onResponse: async ({ request, response, options }) => {
        if (!response.ok || request.method === 'HEAD' || options.parseAs !== 'json') return undefined;
        const text = await response.clone().text();
        try {
          JSON.parse(text);
        } catch {
          throw this.notJson(response.status);
        }
        return undefined;
      },
    };
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

/**
 * `fetch` that gives up after `timeoutMs`: for the whole exchange, body included, or only until the
 * answer's headers arrive (`untilHeaders`, for a stream).
 */
function fetchWithin(timeoutMs: number, options: { untilHeaders?: boolean } = {}): FetchFunction {
  if (options.untilHeaders !== true) {
    return (request) => fetch(request, { signal: AbortSignal.any([request.signal, AbortSignal.timeout(timeoutMs)]) });
  }
  return async (request) => {
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new DOMException(`No answer within ${timeoutMs} ms.`, 'TimeoutError')),
      timeoutMs,
    );
    try {
      return await fetch(request, { signal: AbortSignal.any([request.signal, timeout.signal]) });
    } finally {
      clearTimeout(timer);
    }
  };
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
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new CliError(`The API token file ${file} holds no usable token: delete it and restart \`chilly serve\`.`);
  }
  return { token, source: `the token in ${file}`, file };
}

/**
 * The API of the server the configuration points at. Without a token (no CHILLY_TOKEN and no
 * token file), it explains whether the server is down or uses another data folder.
 */
export async function connect(config: ChillyConfig): Promise<CliApi> {
  const baseUrl = clientBaseUrl(config);
  const token = await readClientToken(config);
  if (token !== undefined) return new CliApi({ baseUrl, token: token.token, tokenSource: token.source });
  const file = tokenFilePath(config);
  const probe = new CliApi({ baseUrl, token: undefined, timeoutMs: 3_000 });
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
