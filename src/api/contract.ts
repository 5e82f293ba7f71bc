/**
 * The OpenAPI contract (contracts/openapi.downloads.yaml) is the source of truth: it is read
 * once, and the server validates requests with its schemas, so the file cannot drift from
 * what the server accepts. Tests use the same loader to validate every response.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifySchema } from 'fastify';

// Ajv, its formats and the YAML parser are loaded when first needed, not when the server starts:
// the built server reads the contract as JSON and compiles validators on first use (about 150 ms
// of every start otherwise).
const require = createRequire(import.meta.url);

export type JsonSchema = Record<string, unknown>;

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: JsonSchema;
}

export interface OpenApiMediaType {
  schema?: JsonSchema;
  'x-sse-events'?: Record<string, JsonSchema>;
}

export interface OpenApiResponse {
  description: string;
  headers?: Record<string, { $ref?: string; required?: boolean; schema?: JsonSchema }>;
  content?: Record<string, OpenApiMediaType>;
}

export interface OpenApiOperation {
  operationId: string;
  security?: unknown[];
  parameters?: OpenApiParameter[];
  requestBody?: { required?: boolean; content: Record<string, OpenApiMediaType> };
  responses: Record<string, OpenApiResponse | { $ref: string }>;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: {
    schemas: Record<string, JsonSchema>;
    responses: Record<string, OpenApiResponse>;
    headers: Record<string, { required?: boolean; schema?: JsonSchema }>;
  };
}

/** The `$id` under which the contract's component schemas are registered with Ajv. */
export const CONTRACT_SCHEMA_ID = 'chilly-contract';

// src/api/ under tsx, dist/src/api/ once built: the contract sits at the package root in both.
const CANDIDATES = ['../../contracts/openapi.downloads.yaml', '../../../contracts/openapi.downloads.yaml'];

export function contractPath(): string {
  for (const candidate of CANDIDATES) {
    const file = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(file)) return file;
  }
  throw new Error('contracts/openapi.downloads.yaml not found next to the package');
}

/**
 * The contract as JSON, written beside the compiled module by `npm run build` (scripts/build.mjs)
 * from the same YAML: parsing the YAML took about a fifth of the server's start-up.
 */
const BUILT_CONTRACT = new URL('./openapi.downloads.json', import.meta.url);

let cached: OpenApiDocument | undefined;

function readContract(): unknown {
  const built = fileURLToPath(BUILT_CONTRACT);
  if (existsSync(built)) return JSON.parse(readFileSync(built, 'utf8'));
  const { parse } = require('yaml') as typeof import('yaml');
  return parse(readFileSync(contractPath(), 'utf8'));
}

/** The parsed contract, read from disk once per process and frozen so no caller can change it. */
export function loadContract(): OpenApiDocument {
  if (cached !== undefined) return cached;
  const document: unknown = readContract();
  if (!isRecord(document) || !isRecord(document.paths) || !isRecord(document.components)) {
    throw new Error('contracts/openapi.downloads.yaml is not an OpenAPI document');
  }
  cached = deepFreeze(document) as unknown as OpenApiDocument;
  return cached;
}

/** Rewrites `#/components/schemas/X` so the schema can be compiled outside the document. */
export function toAjvSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toAjvSchema);
  if (!isRecord(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] =
      key === '$ref' && typeof value === 'string'
        ? value.replace('#/components/schemas/', `${CONTRACT_SCHEMA_ID}#/$defs/`)
        : toAjvSchema(value);
  }
  return out;
}

/**
 * An Ajv (JSON Schema 2020-12, as OpenAPI 3.1 uses) that knows every component schema.
 * `coerce` is for query strings, path params and headers, which arrive as text.
 */
export function createContractAjv(options: { coerce: boolean }): Ajv2020 {
  const { Ajv2020 } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  const addFormats = require('ajv-formats') as typeof import('ajv-formats').default;
  const ajv = new Ajv2020({
    allErrors: false,
    strict: true,
    allowUnionTypes: true,
    coerceTypes: options.coerce ? 'array' : false,
    useDefaults: true,
    // Unknown fields are rejected, never silently dropped: a typo like `keepdata` must not be ignored.
    removeAdditional: false,
    // Checking the contract against JSON Schema's meta-schema took ~60 ms of every start; the tests
    // do it (tests/unit/api-contract.test.ts), and strict mode still refuses unknown keywords here.
    validateSchema: false,
  });
  addFormats(ajv);
  ajv.addSchema({ $id: CONTRACT_SCHEMA_ID, $defs: toAjvSchema(loadContract().components.schemas) });
  return ajv;
}

/**
 * Fastify's schema for one operation, from its parameters and JSON request body. Binary bodies
 * (the .torrent upload) are left to the route's content-type parser and size limit.
 */
export function routeSchema(method: string, openApiPath: string): FastifySchema {
  const operation = operationOf(method, openApiPath);
  const schema: FastifySchema = {};
  const parameters = operation.parameters ?? [];
  const params = parameterObject(parameters, 'path', false);
  const query = parameterObject(parameters, 'query', false);
  const headers = parameterObject(parameters, 'header', true);
  if (params !== undefined) schema.params = params;
  if (query !== undefined) schema.querystring = query;
  if (headers !== undefined) schema.headers = headers;
  const json = operation.requestBody?.content['application/json']?.schema;
  if (json !== undefined) schema.body = toAjvSchema(json) as JsonSchema;
  return schema;
}

export function operationOf(method: string, openApiPath: string): OpenApiOperation {
  const operation = loadContract().paths[openApiPath]?.[method.toLowerCase()];
  if (operation === undefined) throw new Error(`The contract has no ${method} ${openApiPath}`);
  return operation;
}

/** `/download/status/{id}` → `/download/status/:id` */
export function toFastifyPath(openApiPath: string): string {
  return openApiPath.replace(/\{([^}]+)\}/g, ':$1');
}

function parameterObject(
  parameters: readonly OpenApiParameter[],
  location: OpenApiParameter['in'],
  allowOthers: boolean,
): JsonSchema | undefined {
  const selected = parameters.filter((parameter) => parameter.in === location);
  // Query strings are strict like bodies; headers are not, since every client sends many.
  if (selected.length === 0 && location !== 'query') return undefined;
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const parameter of selected) {
    // Node lowercases header names; the contract spells them as HTTP does.
    const name = location === 'header' ? parameter.name.toLowerCase() : parameter.name;
    properties[name] = toAjvSchema(parameter.schema);
    if (parameter.required === true) required.push(name);
  }
  return { type: 'object', properties, required, additionalProperties: allowOthers };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
