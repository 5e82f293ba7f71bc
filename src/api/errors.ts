/**
 * Maps everything a request can fail with to the one error shape `{ error: { code, message } }`,
 * with the status the catalogue gives each code. Clients never see stack traces or causes.
 */
import type { Duplex } from 'node:stream';
import type { ErrorObject } from 'ajv';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ChillyError, ERROR_CATALOGUE, type ErrorCode } from '../domain/errors.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export function errorBody(error: ChillyError): ErrorBody {
  return { error: error.toJSON() };
}

/** Replies with a ChillyError directly (from hooks, where extra headers such as Retry-After go along). */
export function sendError(reply: FastifyReply, error: ChillyError): FastifyReply {
  return reply.code(error.httpStatus).header('cache-control', 'no-store').send(errorBody(error));
}

/** What Fastify (or a plugin) throws: a status and an `FST_*` code, sometimes Ajv errors. */
type FrameworkError = Partial<Pick<FastifyError, 'statusCode' | 'code' | 'validation' | 'validationContext'>>;

/** Turns any thrown value into the ChillyError the client will see. */
export function toClientError(thrown: unknown): ChillyError {
  if (thrown instanceof ChillyError) {
    // 500-class messages may carry a dependency's internals (paths, SQL): clients get the summary.
    return thrown.httpStatus === 500 ? new ChillyError(thrown.code) : thrown;
  }
  const framework = (typeof thrown === 'object' && thrown !== null ? thrown : {}) as FrameworkError;
  if (framework.validation !== undefined) {
    return new ChillyError('validation_failed', describeValidation(framework.validation, framework.validationContext));
  }
  switch (framework.statusCode) {
    case 413:
      return new ChillyError('payload_too_large');
    case 415:
      return new ChillyError('unsupported_media_type');
    default: {
      const status = framework.statusCode ?? 500;
      // Other client errors Fastify raises (bad JSON, empty body, bad Content-Length) are malformed requests.
      if (status >= 400 && status < 500) return new ChillyError('validation_failed', frameworkMessage(framework.code));
      return new ChillyError('internal_error');
    }
  }
}

function frameworkMessage(code: string | undefined): string {
  if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'The body is empty; send a JSON object.';
  // JSON.parse's SyntaxError reaches us with status 400 and no code.
  if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || code === undefined) return 'The body is not valid JSON.';
  return ERROR_CATALOGUE.validation_failed.summary;
}

/** "body: unknown field \"keepdata\"" reads better than Ajv's "must NOT have additional properties". */
export function describeValidation(errors: readonly Partial<ErrorObject>[], context: string | undefined): string {
  const first = errors[0];
  if (first === undefined) return ERROR_CATALOGUE.validation_failed.summary;
  const where = `${context ?? 'request'}${first.instancePath ?? ''}`;
  const params = (first.params ?? {}) as Record<string, unknown>;
  if (first.keyword === 'additionalProperties')
    return `${where}: unknown field ${JSON.stringify(params.additionalProperty)}`;
  if (first.keyword === 'required') return `${where}: missing field ${JSON.stringify(params.missingProperty)}`;
  if (first.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    return `${where} must be one of ${params.allowedValues.map((value) => JSON.stringify(value)).join(', ')}`;
  }
  if (first.keyword === 'pattern') {
    // A path or a URL of a .torrent is the usual mistake: say what to do instead of quoting a regex.
    if (first.instancePath === '/sourceUrn') {
      return `${where} must be a magnet URI, a bare info-hash (40 hex or 32 base32 characters) or, with sourceType "http", an http(s) URL; to add a .torrent file, send its bytes: POST /download/upload?id=<id>`;
    }
    return `${where} is not in the form the API expects (see /docs)`;
  }
  return `${where} ${first.message ?? 'is not valid'}`;
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((thrown: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const error = toClientError(thrown);
    // 4xx are the client's business (info); 5xx are ours and keep the original for the log.
    if (error.httpStatus >= 500) request.log.error({ err: thrown }, 'request failed');
    else request.log.info({ code: error.code }, error.message);
    return sendError(reply, error);
  });
  app.setNotFoundHandler((request, reply) => {
    return sendError(reply, new ChillyError('not_found', `No route ${request.method} ${request.url.split('?')[0]}.`));
  });
}

/**
 * Malformed HTTP (a bad request line, oversized headers) never reaches a route: answer it in the
 * same shape anyway, then close the connection.
 */
export function handleClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(errorBody(new ChillyError('validation_failed', 'Malformed HTTP request.')));
  socket.end(
    `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
