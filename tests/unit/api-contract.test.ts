import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createContractAjv, loadContract, routeSchema, toFastifyPath } from '../../src/api/contract.js';
import { ERROR_CATALOGUE } from '../../src/domain/errors.js';
import { JOB_STATUSES, SOURCE_TYPES } from '../../src/domain/job.js';
import { JOB_EVENT_TYPES } from '../../src/domain/job-event.js';
import { assertMatchesContract, checkedInject, validatorFor } from '../helpers/api-contract.js';
import { type ApiTestServer, createApiTestServer, testMagnet } from '../helpers/api-test-server.js';

const contract = loadContract();

function enumOf(name: string): unknown[] {
  const schema = contract.components.schemas[name] as { enum?: unknown[] };
  assert.ok(Array.isArray(schema.enum), `${name} has an enum`);
  return schema.enum;
}

describe('the contract file', () => {
  it('is OpenAPI 3.1 and documents every error code of the catalogue, and no other', () => {
    assert.equal(contract.openapi, '3.1.0');
    // A code added to src/domain/errors.ts must be added to the contract's ErrorCode too.
    assert.deepEqual([...enumOf('ErrorCode')].sort(), Object.keys(ERROR_CATALOGUE).sort());
  });

  it('uses the domain enums', () => {
    assert.deepEqual(enumOf('JobStatus'), [...JOB_STATUSES]);
    assert.deepEqual(enumOf('JobEventType'), [...JOB_EVENT_TYPES]);
    assert.deepEqual(enumOf('SourceType'), [...SOURCE_TYPES]);
  });

  it('compiles every component schema in strict mode', () => {
    for (const name of Object.keys(contract.components.schemas)) {
      assert.doesNotThrow(() => validatorFor({ $ref: `#/components/schemas/${name}` }), name);
    }
  });

  it("compiles every operation's parameters and body with the server's Ajv (the server compiles them on first use)", () => {
    const body = createContractAjv({ coerce: false });
    const text = createContractAjv({ coerce: true });
    let compiled = 0;
    for (const [openApiPath, operations] of Object.entries(contract.paths)) {
      for (const method of Object.keys(operations)) {
        const schema = routeSchema(method, openApiPath);
        for (const [part, partSchema] of Object.entries(schema)) {
          assert.doesNotThrow(
            () => (part === 'body' ? body : text).compile(partSchema as object),
            `${method} ${openApiPath} ${part}`,
          );
          compiled++;
        }
      }
    }
    assert.ok(compiled >= Object.keys(contract.paths).length, `${compiled} schemas compiled`);
  });

  it('states that unknown body fields are rejected', () => {
    for (const name of ['StartRequest', 'JobIdRequest', 'CancelRequest']) {
      assert.equal(
        (contract.components.schemas[name] as { additionalProperties?: unknown }).additionalProperties,
        false,
      );
    }
  });
});

describe('the served contract and docs', () => {
  let server: ApiTestServer;
  const routes: string[] = [];
  before(async () => {
    server = await createApiTestServer();
    server.app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      for (const method of methods) routes.push(`${method} ${route.url}`);
    });
    await server.app.ready();
  });
  after(() => server.close());

  it('has a route for every operation of the contract, and no operation the contract lacks', () => {
    const documented = Object.entries(contract.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${toFastifyPath(path)}`),
    );
    // The only extra route is @fastify/cors's catch-all for preflights.
    assert.deepEqual(routes.filter((route) => route !== 'OPTIONS *').sort(), documented.sort());
  });

  it('serves the YAML contract as JSON at /openapi.json, without a token', async () => {
    const response = await checkedInject(server.app, { method: 'GET', url: '/openapi.json' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(JSON.parse(response.body), contract);
  });

  it('serves interactive docs from this server only (no CDN), with a CSP', async () => {
    const page = await checkedInject(server.app, { method: 'GET', url: '/docs' });
    assert.equal(page.statusCode, 200);
    assert.doesNotMatch(page.body, /https?:\/\//, 'no absolute URLs: every asset comes from this server');
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    for (const asset of page.body.matchAll(/(?:src|href)="([^"]+)"/g)) {
      const response = await checkedInject(server.app, { method: 'GET', url: asset[1] ?? '' });
      assert.equal(response.statusCode, 200, asset[1]);
      assert.ok(response.body.length > 0);
    }
    const init = await checkedInject(server.app, { method: 'GET', url: '/docs/docs-init.js' });
    assert.match(init.body, /url: '\/openapi\.json'/);
    const other = await checkedInject(server.app, { method: 'GET', url: '/docs/package.json' });
    assert.equal(other.statusCode, 400, 'only the listed assets are served');
  });

  it('keeps the response checker honest: it rejects drift', async () => {
    const started = await checkedInject(server.app, {
      method: 'POST',
      url: '/download/start',
      headers: server.auth,
      payload: { id: 'drift', sourceType: 'torrent', sourceUrn: testMagnet('drift') },
    });
    const job = JSON.parse(started.body) as Record<string, unknown>;
    const ok = { statusCode: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } };
    assert.doesNotThrow(() =>
      assertMatchesContract('GET', '/download/status/drift', { ...ok, body: JSON.stringify(job) }),
    );
    assert.throws(
      () =>
        assertMatchesContract('GET', '/download/status/drift', { ...ok, body: JSON.stringify({ ...job, extra: 1 }) }),
      /does not match the contract/,
    );
    assert.throws(
      () => assertMatchesContract('GET', '/download/status/drift', { ...ok, statusCode: 418, body: '{}' }),
      /not documented/,
    );
    assert.throws(
      () =>
        assertMatchesContract('GET', '/download/status/drift', {
          ...ok,
          statusCode: 400,
          body: JSON.stringify({ error: { code: 'job_not_found', message: 'x' } }),
        }),
      /catalogue status/,
    );
  });
});
