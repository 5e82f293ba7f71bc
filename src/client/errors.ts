/**
 * Failed answers as exceptions. openapi-fetch resolves every answer to `{ data, error, response }`;
 * `unwrap()` turns that into the data, or throws a `ChillyApiError` that carries the HTTP status and
 * the API's error code and message (`{ "error": { "code", "message" } }`, contracts/openapi.downloads.yaml).
 */
import type { components } from './openapi-types.js';

/** The API's error catalogue (src/domain/errors.ts; the contract's `ErrorCode`). */
export type ErrorCode = components['schemas']['ErrorCode'];
/** The body of every error answer. */
export type ApiErrorBody = components['schemas']['Error'];

/**
 * Not a code of the API: the answer did not have the API's error shape (another program answers at
 * this address, a proxy's error page, an empty success body, a stream that is not an event stream).
 */
export const UNEXPECTED_RESPONSE = 'unexpected_response';

/**
 * A code from the catalogue, `unexpected_response`, or a code this client does not know yet (a newer
 * server may send one): the server's code is passed on as it is.
 */
export type ChillyErrorCode = ErrorCode | typeof UNEXPECTED_RESPONSE | (string & Record<never, never>);

export class ChillyApiError extends Error {
  override readonly name = 'ChillyApiError';
  /** The HTTP status of the answer. */
  readonly status: number;
  readonly code: ChillyErrorCode;
  /** The answer's body as read: the parsed JSON when it was JSON, else its text. */
  readonly body: unknown;

  constructor(
    status: number,
    code: ChillyErrorCode,
    message: string,
    options: { body?: unknown; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.code = code;
    this.body = options.body;
  }
}

/** A JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether `value` has the API's error shape. */
export function isApiErrorBody(value: unknown): value is ApiErrorBody {
  return isRecord(value) && isRecord(value.error) && typeof value.error.code === 'string';
}

/** The error an answer stands for; `body` is what openapi-fetch read of it (its `error`). */
export function apiErrorFromResponse(response: Response, body: unknown): ChillyApiError {
  if (isApiErrorBody(body)) {
    // The contract promises a message; a server that leaves it out still gets its code through.
    const message: unknown = body.error.message;
    return new ChillyApiError(response.status, body.error.code, typeof message === 'string' ? message : '', { body });
  }
  return new ChillyApiError(
    response.status,
    UNEXPECTED_RESPONSE,
    `HTTP ${response.status} without the API's error body: is another program answering at this address?`,
    { body },
  );
}

/** What openapi-fetch's calls resolve to (its `FetchResponse`, for any route): `data` on success, else `error`. */
export interface FetchResult<Data> {
  data?: Data;
  error?: unknown;
  response: Response;
}

/**
 * The data of a successful answer, for routes that answer with a body; otherwise throws a
 * `ChillyApiError` (`unexpected_response` for a success without a body).
 *
 * ```ts
 * const job = unwrap(await client.GET('/download/status/{id}', { params: { path: { id } } }));
 * ```
 */
export function unwrap<Data>(result: FetchResult<Data>): Data {
  const { response } = result;
  if (!response.ok || result.error !== undefined) throw apiErrorFromResponse(response, result.error);
  if (result.data === undefined) {
    throw new ChillyApiError(response.status, UNEXPECTED_RESPONSE, `HTTP ${response.status} without a body.`);
  }
  return result.data;
}
