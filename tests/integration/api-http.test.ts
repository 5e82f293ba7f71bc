import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TOKEN_FILE_NAME } from '../../src/api/token.js';
import { assertSafeBind, isLoopbackHost, type RunningServer, startServer } from '../../src/app.js';
import { loadConfig } from '../../src/config/resolve-config.js';
import { ChillyError } from '../../src/domain/errors.js';
import { MockDownloader } from '../../src/downloaders/mock-downloader.js';
import { assertMatchesContract } from '../helpers/api-contract.js';
import { type ApiTestServer, createApiTestServer } from '../helpers/api-test-server.js';

interface RawResponse {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** The real server on 127.0.0.1 and a port of the kernel's choosing, with a MockDownloader; its data in `dir`. */
function startMockServer(dir: string): Promise<RunningServer> {
  const config = loadConfig({ CHILLY_DATA_DIR: dir, CHILLY_PORT: '0', CHILLY_NETWORK: 'loopback' });
  return startServer({ config, downloader: new MockDownloader({ mediaRoot: config.mediaRoot }), logger: false });
}

/** One request to 127.0.0.1 with exactly these headers (node:http lets a test set Host). */
function request(port: number, method: string, url: string, headers: Record<string, string>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: url, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        const response = { statusCode: res.statusCode ?? 0, headers: res.headers, body };
        assertMatchesContract(method, url, response);
        resolve(response);
      });
    });
    req.setTimeout(5_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Sends raw bytes (e.g. an HTTP/1.0 request with no Host header) and returns everything received. */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error('timed out')));
    socket.on('data', (chunk) => {
      received += chunk.toString();
    });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    socket.end(text);
  });
}

describe('Host and Origin checks through a real socket', () => {
  let server: ApiTestServer;
  let port: number;
  const ui = 'http://localhost:5173';
  before(async () => {
    server = await createApiTestServer({ config: { allowedOrigins: [ui] } });
    port = await server.listen();
  });
  after(() => server.close());

  it('answers 421 to a rebinding Host, with or without a token, and to a request with no Host', async () => {
    for (const headers of [{ host: 'evil.example' }, { host: `evil.example:${port}`, ...server.auth }]) {
      const response = await request(port, 'GET', '/downloads', headers);
      assert.equal(response.statusCode, 421);
    }
    assert.match(await rawExchange(port, 'GET /health HTTP/1.0\r\n\r\n'), /^HTTP\/1\.[01] 421 /);
  });

  it('answers malformed HTTP in the same error shape', async () => {
    const received = await rawExchange(port, 'NOT HTTP AT ALL\r\n\r\n');
    assert.match(received, /^HTTP\/1\.1 400 /);
    const body = received.slice(received.indexOf('\r\n\r\n') + 4);
    assert.deepEqual(JSON.parse(body), { error: { code: 'validation_failed', message: 'Malformed HTTP request.' } });
  });

  it('serves the loopback names on the real port', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      assert.equal((await request(port, 'GET', '/downloads', { host, ...server.auth })).statusCode, 200, host);
    }
  });

  it('answers CORS preflights and requests for the configured origin only', async () => {
    const host = `127.0.0.1:${port}`;
    const preflight = await request(port, 'OPTIONS', '/download/pause', {
      host,
      origin: ui,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], ui);
    assert.equal(preflight.headers['access-control-max-age'], '600');
    const actual = await request(port, 'GET', '/downloads', { host, origin: ui, ...server.auth });
    assert.equal(actual.statusCode, 200);
    assert.equal(actual.headers['access-control-allow-origin'], ui);
    assert.match(String(actual.headers.vary), /Origin/);
    const evil = await request(port, 'GET', '/downloads', { host, origin: 'https://evil.example', ...server.auth });
    assert.equal(evil.statusCode, 403);
    assert.equal(evil.headers['access-control-allow-origin'], undefined);
  });
});

describe('startServer (npm start)', () => {
  it('knows which hosts are loopback', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])
      assert.equal(isLoopbackHost(host), true, host);
    for (const host of ['0.0.0.0', '::', '192.168.1.2', 'example.com', '127.0.0.1.example.com']) {
      assert.equal(isLoopbackHost(host), false, host);
    }
    assert.doesNotThrow(() => assertSafeBind({ host: '0.0.0.0', token: 'a-token-set-by-the-user' }));
  });

  it('refuses to listen beyond loopback without CHILLY_TOKEN, before opening anything', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'chilly-start-'));
    try {
      const dataDir = path.join(dir, 'data');
      const config = loadConfig({ CHILLY_DATA_DIR: dataDir, CHILLY_HOST: '0.0.0.0', CHILLY_NETWORK: 'loopback' });
      await assert.rejects(
        startServer({ config, downloader: new MockDownloader({ mediaRoot: config.mediaRoot }), logger: false }),
        (error: unknown) => error instanceof ChillyError && /Refusing to listen on 0\.0\.0\.0/.test(error.message),
      );
      assert.equal(existsSync(dataDir), false, 'no token, no database');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('npm start (src/server.ts) exits with an explanation instead of listening on 0.0.0.0 without a token', async () => {
    // Only spawn when the guard is known to refuse: otherwise the child would listen on every interface.
    assert.throws(() => assertSafeBind({ host: '0.0.0.0', token: undefined }), ChillyError);
    const dir = await mkdtemp(path.join(tmpdir(), 'chilly-start-'));
    try {
      const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
        env: {
          ...process.env,
          CHILLY_HOST: '0.0.0.0',
          CHILLY_TOKEN: '',
          CHILLY_DATA_DIR: dir,
          CHILLY_NETWORK: 'loopback',
        },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stderr, /Refusing to listen on 0\.0\.0\.0 .*CHILLY_TOKEN/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('starts on 127.0.0.1 with a 0600 token file and a database in the data folder, and closes cleanly', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'chilly-start-'));
    try {
      const running = await startMockServer(dir);
      try {
        assert.match(running.url, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.equal(running.tokenFile, path.join(dir, TOKEN_FILE_NAME));
        if (process.platform !== 'win32') assert.equal((await stat(running.tokenFile)).mode & 0o777, 0o600);
        assert.ok(existsSync(path.join(dir, 'chilly.db')));
        const token = (await readFile(running.tokenFile, 'utf8')).trim();
        const port = Number(new URL(running.url).port);
        const host = `127.0.0.1:${port}`;
        assert.equal((await request(port, 'GET', '/health', { host })).statusCode, 200);
        assert.equal(
          (await request(port, 'GET', '/downloads', { host, authorization: `Bearer ${token}` })).statusCode,
          200,
        );
      } finally {
        await running.close();
      }
      assert.equal(running.app.server.listening, false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('closes within its grace period although a client holds a connection it sent nothing on', async () => {
    // What Node's fetch leaves behind when it drops an event stream: a new pooled connection with no
    // request yet. Fastify's close waited for it until the client went away.
    const dir = await mkdtemp(path.join(tmpdir(), 'chilly-start-'));
    const silent: net.Socket[] = [];
    try {
      const running = await startMockServer(dir);
      const port = Number(new URL(running.url).port);
      const socket = net.connect(port, '127.0.0.1');
      silent.push(socket);
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const startedAt = performance.now();
      const closed = await Promise.race([running.close().then(() => true), sleep(10_000).then(() => false)]);
      const ms = performance.now() - startedAt;
      assert.ok(closed && ms < 5_000, `close took ${closed ? `${ms.toFixed(0)} ms` : 'more than 10 s'}`);
      await new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
    } finally {
      for (const socket of silent) socket.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
