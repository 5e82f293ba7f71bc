/**
 * createChillyClient and unwrap (src/client) against a stub `fetch`: the token, JSON and binary
 * bodies, typed errors; and that the client stays loadable in a browser (nothing from `node:`).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ChillyApiError, createChillyClient, type Job, unwrap } from '../../src/client/index.js';

const CLIENT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/client');

const JOB: Job = {
  id: 'night-1968',
  sourceType: 'torrent',
  sourceUrn: `magnet:?xt=urn:btih:${'a'.repeat(40)}`,
  status: 'queued',
  progress: {
    fraction: 0,
    bytesDone: 0,
    bytesTotal: null,
    downloadSpeed: 0,
    uploadSpeed: 0,
    bytesUploaded: 0,
    peers: 0,
    etaSeconds: null,
  },
  sequential: true,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

/** Records each request (with its body read) and answers with `answer`. */
function recorder(answer: () => Response) {
  const seen: Array<{ method: string; url: string; headers: Headers; body: Uint8Array }> = [];
  return {
    seen,
    fetch: async (request: Request): Promise<Response> => {
      seen.push({
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: new Uint8Array(await request.arrayBuffer()),
      });
      return answer();
    },
  };
}

const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('createChillyClient', () => {
  it('sends JSON bodies with the bearer token, and paths and queries from the contract', async () => {
    const stub = recorder(() => json(200, JOB));
    const client = createChillyClient({ baseUrl: 'http://127.0.0.1:9/', token: 'secret-token', fetch: stub.fetch });
    const paused = unwrap(await client.POST('/download/pause', { body: { id: 'night-1968' } }));
    assert.equal(paused.id, 'night-1968');
    unwrap(await client.GET('/download/status/{id}', { params: { path: { id: 'a b' } } }));
    await client.GET('/downloads', { params: { query: { status: ['paused', 'error'], limit: 5 } } });

    const [pause, status, list] = stub.seen;
    assert.equal(pause?.method, 'POST');
    assert.equal(pause?.url, 'http://127.0.0.1:9/download/pause');
    assert.equal(pause?.headers.get('authorization'), 'Bearer secret-token');
    assert.equal(pause?.headers.get('content-type'), 'application/json');
    assert.deepEqual(JSON.parse(new TextDecoder().decode(pause?.body)), { id: 'night-1968' });
    assert.equal(status?.url, 'http://127.0.0.1:9/download/status/a%20b');
    assert.equal(list?.url, 'http://127.0.0.1:9/downloads?status=paused&status=error&limit=5');
  });

  it('sends a .torrent upload as the bytes themselves', async () => {
    const stub = recorder(() => json(201, JOB));
    const client = createChillyClient({ baseUrl: 'http://127.0.0.1:9', token: 't', fetch: stub.fetch });
    const bytes = new Uint8Array([100, 56, 58, 0, 255, 10]);
    const { response } = await client.POST('/download/upload', {
      params: { query: { id: 'sintel' } },
      body: bytes,
      headers: { 'Content-Type': 'application/x-bittorrent' },
    });
    assert.equal(response.status, 201);
    assert.equal(stub.seen[0]?.url, 'http://127.0.0.1:9/download/upload?id=sintel');
    assert.equal(stub.seen[0]?.headers.get('content-type'), 'application/x-bittorrent');
    assert.deepEqual(stub.seen[0]?.body, bytes);
  });

  it('asks a token function on every request, and leaves an Authorization header given by the caller alone', async () => {
    const stub = recorder(() => json(200, { ok: true, activeDownloads: 0, queued: 0 }));
    let current: string | undefined;
    const client = createChillyClient({ baseUrl: 'http://127.0.0.1:9', token: () => current, fetch: stub.fetch });
    await client.GET('/health');
    current = 'first';
    await client.GET('/health');
    current = 'second';
    await client.GET('/health');
    await client.GET('/health', { headers: { Authorization: 'Bearer mine' } });
    assert.deepEqual(
      stub.seen.map((request) => request.headers.get('authorization')),
      [null, 'Bearer first', 'Bearer second', 'Bearer mine'],
    );
  });
});

describe('unwrap', () => {
  it('gives the data of a success, and a ChillyApiError with status, code and message otherwise', async () => {
    let answer = json(404, { error: { code: 'job_not_found', message: 'No job with id "x".' } });
    const client = createChillyClient({ baseUrl: 'http://127.0.0.1:9', fetch: async () => answer });
    await assert.rejects(
      async () => unwrap(await client.GET('/download/status/{id}', { params: { path: { id: 'x' } } })),
      (error: unknown) => {
        assert.ok(error instanceof ChillyApiError);
        assert.equal(error.status, 404);
        assert.equal(error.code, 'job_not_found');
        assert.equal(error.message, 'No job with id "x".');
        assert.deepEqual(error.body, { error: { code: 'job_not_found', message: 'No job with id "x".' } });
        return true;
      },
    );

    answer = new Response('<h1>Bad gateway</h1>', { status: 502, headers: { 'content-type': 'text/html' } });
    await assert.rejects(
      async () => unwrap(await client.GET('/downloads')),
      (error: unknown) =>
        error instanceof ChillyApiError &&
        error.status === 502 &&
        error.code === 'unexpected_response' &&
        error.body === '<h1>Bad gateway</h1>',
    );

    answer = new Response(null, { status: 200, headers: { 'content-length': '0' } });
    await assert.rejects(
      async () => unwrap(await client.GET('/downloads')),
      (error: unknown) => error instanceof ChillyApiError && error.code === 'unexpected_response',
    );

    answer = json(200, JOB);
    assert.deepEqual(unwrap(await client.GET('/download/status/{id}', { params: { path: { id: JOB.id } } })), JOB);
  });
});

describe('src/client', () => {
  it('imports nothing from node: and uses no Buffer (it runs in browsers)', () => {
    const files = readdirSync(CLIENT_DIR).filter((name) => name.endsWith('.ts'));
    assert.ok(files.includes('index.ts') && files.includes('openapi-types.ts'), files.join(', '));
    for (const name of files) {
      const text = readFileSync(path.join(CLIENT_DIR, name), 'utf8');
      assert.ok(!/from ['"]node:|require\(|import\(['"]node:/.test(text), `${name} imports a Node module`);
      // The generated types' comments quote the contract's prose; only code may not name these.
      const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      assert.ok(!/\bBuffer\b|\bprocess\./.test(code), `${name} uses a Node global`);
      for (const [, specifier] of text.matchAll(/from ['"]([^'"]+)['"]/g)) {
        assert.ok(
          specifier?.startsWith('./') || specifier === 'openapi-fetch' || specifier === 'eventsource-parser',
          `${name} imports ${specifier}: the client may import only itself, openapi-fetch and eventsource-parser`,
        );
      }
    }
  });
});
