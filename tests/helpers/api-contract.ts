/**
 * Checks responses against contracts/openapi.downloads.yaml: the documented status for that
 * route, its media type, its body schema and its required headers. Tests send every request
 * through `checkedInject` (or call `assertMatchesContract`), so the contract cannot drift.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import {
  CONTRACT_SCHEMA_ID,
  type JsonSchema,
  loadContract,
  type OpenApiOperation,
  type OpenApiResponse,
  toAjvSchema,
} from '../../src/api/contract.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../../src/domain/errors.js';

export interface ResponseLike {
  statusCode: number;
  headers: IncomingHttpHeaders | Record<string, string | string[] | number | undefined>;
  body: string;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
// No defaults, no coercion: a response must match as sent.
const ajv = addFormats(new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true }));
ajv.addSchema({ $id: CONTRACT_SCHEMA_ID, $defs: toAjvSchema(loadContract().components.schemas) });
const compiled = new Map<string, ValidateFunction>();

export function validatorFor(schema: JsonSchema): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (validate === undefined) {
    validate = ajv.compile(toAjvSchema(schema) as JsonSchema);
    compiled.set(key, validate);
  }
  return validate;
}

export function assertSchema(schema: JsonSchema, value: unknown, what: string): void {
  const validate = validatorFor(schema);
  if (!validate(value)) {
    assert.fail(
      `${what} does not match the contract: ${ajv.errorsText(validate.errors as ErrorObject[])}\n${JSON.stringify(value).slice(0, 2000)}`,
    );
  }
}

const PATHS = Object.keys(loadContract().paths).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+').replace(/\./g, '\\.')}$`),
}));

/** The contract path (`/download/status/{id}`) that a request URL falls under, if any. */
export function contractPathOf(url: string): string | undefined {
  // The path as sent: URL parsing would resolve `%2e%2e` (a request the server sees as sent) to `/`.
  const pathname = url.replace(/^[a-z]+:\/\/[^/]+/i, '').split(/[?#]/)[0] ?? '';
  return PATHS.find((entry) => entry.pattern.test(pathname))?.template;
}

function resolveResponse(response: OpenApiResponse | { $ref: string }): OpenApiResponse {
  if ('$ref' in response) {
    const name = response.$ref.replace('#/components/responses/', '');
    const resolved = loadContract().components.responses[name];
    assert.ok(resolved, `unresolvable ${response.$ref}`);
    return resolved;
  }
  return response;
}

function header(headers: ResponseLike['headers'], name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return value === undefined ? undefined : String(value);
}

/** Asserts that `response` is what the contract documents for `method url`. Returns the parsed JSON body. */
export function assertMatchesContract(method: string, url: string, response: ResponseLike): unknown {
  const where = `${method} ${url} → ${response.statusCode}`;
  // CORS preflights are the browser's protocol, answered before routing: 204, no body.
  if (method === 'OPTIONS' && response.statusCode === 204) {
    assert.equal(response.body, '', `${where}: a preflight has no body`);
    return undefined;
  }
  // A HEAD answer has no body. Where the contract has a HEAD operation (the stream routes), its
  // statuses and headers apply; elsewhere only the generic errors answer one.
  if (method === 'HEAD') {
    assert.equal(response.body, '', `${where}: a HEAD answer has no body`);
    const template = contractPathOf(url);
    if (template === undefined || loadContract().paths[template]?.head === undefined) {
      assert.ok([401, 403, 404, 421, 429].includes(response.statusCode), `${where}: HEAD is not an operation`);
      return undefined;
    }
  }
  const template = contractPathOf(url);
  const operation: OpenApiOperation | undefined =
    template === undefined ? undefined : loadContract().paths[template]?.[method.toLowerCase()];
  if (operation === undefined) {
    // Not an operation of the contract: only the generic errors may answer.
    const body = parseJson(response, where);
    assertSchema({ $ref: '#/components/schemas/Error' }, body, where);
    assertErrorStatus(body, response.statusCode, where);
    return body;
  }
  const documented = operation.responses[String(response.statusCode)];
  assert.ok(documented, `${where}: status ${response.statusCode} is not documented for ${method} ${template}`);
  const spec = resolveResponse(documented);
  for (const [name, definition] of Object.entries(spec.headers ?? {})) {
    const resolved =
      definition.$ref === undefined
        ? definition
        : loadContract().components.headers[definition.$ref.replace('#/components/headers/', '')];
    const value = header(response.headers, name);
    if (resolved?.required === true) assert.ok(value !== undefined, `${where}: header ${name} is required`);
    if (value !== undefined && resolved?.schema !== undefined)
      assertSchema(resolved.schema, value, `${where} header ${name}`);
  }
  if (spec.content === undefined || method === 'HEAD') return undefined;
  const mediaType = (header(response.headers, 'content-type') ?? '').split(';')[0]?.trim() ?? '';
  const content = spec.content[mediaType];
  assert.ok(
    content,
    `${where}: media type ${JSON.stringify(mediaType)} is not documented (${Object.keys(spec.content).join(', ')})`,
  );
  if (mediaType !== 'application/json') return response.body;
  const body = parseJson(response, where);
  if (content.schema !== undefined) assertSchema(content.schema, body, where);
  if (response.statusCode >= 400) assertErrorStatus(body, response.statusCode, where);
  return body;
}

function parseJson(response: ResponseLike, where: string): unknown {
  assert.match(String(response.headers['content-type'] ?? ''), /^application\/json/, `${where}: not JSON`);
  return JSON.parse(response.body) as unknown;
}

/** The catalogue gives every code one status; the server must use exactly that one. */
function assertErrorStatus(body: unknown, status: number, where: string): void {
  const code = (body as { error: { code: ErrorCode } }).error.code;
  assert.equal(ERROR_CATALOGUE[code].httpStatus, status, `${where}: ${code} must be sent with its catalogue status`);
}

/** `app.inject` plus the contract check; every unit test request goes through here. */
export async function checkedInject(app: FastifyInstance, options: InjectOptions): Promise<LightMyRequestResponse> {
  const response = await app.inject(options);
  assertMatchesContract(options.method ?? 'GET', String(options.url ?? '/'), response);
  return response;
}

export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
  retry?: string;
}

/** Splits an SSE stream's text into messages (and comments); an unfinished tail is left out. */
export function parseSse(text: string): SseMessage[] {
  const blocks = text.split('\n\n');
  blocks.pop();
  return blocks.map((block) => {
    const message: SseMessage = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) message.comment = line.slice(1).trim();
      const match = /^(id|event|data|retry): ?(.*)$/.exec(line);
      if (match?.[1] !== undefined) message[match[1] as 'id' | 'event' | 'data' | 'retry'] = match[2] ?? '';
    }
    return message;
  });
}

/** Validates one SSE message against the `x-sse-events` schemas of GET /events. */
export function assertSseMessage(message: SseMessage): unknown {
  if (message.data === undefined) return undefined;
  const schemas = loadContract().paths['/events']?.get?.responses['200'];
  const content = schemas !== undefined && !('$ref' in schemas) ? schemas.content?.['text/event-stream'] : undefined;
  const schema = content?.['x-sse-events']?.[message.event ?? 'message'];
  assert.ok(schema, `SSE event ${message.event ?? 'message'} is not documented`);
  const data = JSON.parse(message.data) as unknown;
  assertSchema(schema, data, `SSE ${message.event ?? 'message'}`);
  if (message.event === undefined)
    assert.equal(message.id, String((data as { id: number }).id), 'SSE id: is the event id');
  return data;
}
