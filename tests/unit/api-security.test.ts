import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createServer } from '../../src/api/create-server.js';
import { AuthFailureLimiter, createHostCheck, createTokenCheck, hostName } from '../../src/api/security.js';
import { ChillyError } from '../../src/domain/errors.js';
import { checkedInject } from '../helpers/api-contract.js';
import { type ApiTestServer, createApiTestServer, testMagnet } from '../helpers/api-test-server.js';

function errorCode(response: { body: string }): string {
  return (JSON.parse(response.body) as { error: { code: string } }).error.code;
}

const START = { id: 'sec', sourceType: 'torrent', sourceUrn: testMagnet('sec') };

describe('authentication', () => {
  let server: ApiTestServer;
  before(async () => {
    // A limiter generous enough that these tests never trip it; the rate tests have their own.
    server = await createApiTestServer({ authLimiter: new AuthFailureLimiter({ maxFailures: 1_000 }) });
  });
  after(() => server.close());

  it('answers 401 with WWW-Authenticate without a token, with a wrong one, or with another scheme', async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong-token-of-some-length' },
      { authorization: `Bearer ${server.token}x` },
      { authorization: `Bearer ${server.token.slice(0, -1)}` },
      { authorization: `Basic ${Buffer.from(`user:${server.token}`).toString('base64')}` },
      { authorization: server.token },
    ];
    for (const headers of attempts) {
      const response = await checkedInject(server.app, { method: 'GET', url: '/downloads', headers });
      assert.equal(response.statusCode, 401, JSON.stringify(headers));
      assert.equal(response.headers['www-authenticate'], 'Bearer');
      assert.equal(errorCode(response), 'unauthorized');
    }
  });

  it('accepts the right token, whatever the case of "Bearer"', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const response = await checkedInject(server.app, {
        method: 'GET',
        url: '/downloads',
        headers: { authorization: `${scheme} ${server.token}` },
      });
      assert.equal(response.statusCode, 200, scheme);
    }
  });

  it('protects every route except /health, /openapi.json and /docs', async () => {
    for (const [method, url] of [
      ['POST', '/download/start'],
      ['POST', '/download/upload?id=x'],
      ['POST', '/download/pause'],
      ['POST', '/download/resume'],
      ['POST', '/download/cancel'],
      ['GET', '/download/status/x'],
      ['GET', '/downloads'],
      ['GET', '/events'],
      ['GET', '/no-such-route'],
    ] as const) {
      const response = await checkedInject(server.app, { method, url, payload: method === 'POST' ? {} : undefined });
      assert.equal(response.statusCode, 401, `${method} ${url}`);
    }
    for (const url of ['/health', '/openapi.json', '/docs', '/docs/docs-init.js']) {
      const response = await checkedInject(server.app, { method: 'GET', url });
      assert.equal(response.statusCode, 200, url);
    }
  });

  it('checks tokens with a constant-time comparison of equal-length digests', () => {
    const check = createTokenCheck('a'.repeat(43));
    assert.equal(check(`Bearer ${'a'.repeat(43)}`), true);
    assert.equal(check(`Bearer ${'a'.repeat(42)}`), false);
    assert.equal(check('Bearer '), false);
    assert.equal(check(undefined), false);
  });
});

describe('Host header (DNS rebinding)', () => {
  let server: ApiTestServer;
  let handlerCalls = 0;
  before(async () => {
    server = await createApiTestServer({ config: { allowedHosts: ['chilly.lan'] } });
    const health = server.service.health.bind(server.service);
    server.service.health = () => {
      handlerCalls += 1;
      return health();
    };
  });
  after(() => server.close());

  it('answers 421 misdirected_request before auth and before any handler', async () => {
    for (const host of [
      'evil.example',
      'evil.example:3000',
      'localhost.evil.example',
      '127.0.0.1.nip.io',
      'a@localhost',
      '[::2]:80',
    ]) {
      const before = handlerCalls;
      const publicRoute = await checkedInject(server.app, { method: 'GET', url: '/health', headers: { host } });
      assert.equal(publicRoute.statusCode, 421, host);
      assert.equal(errorCode(publicRoute), 'misdirected_request');
      assert.equal(handlerCalls, before, 'the handler did not run');
      const withoutToken = await checkedInject(server.app, { method: 'GET', url: '/downloads', headers: { host } });
      assert.equal(withoutToken.statusCode, 421, 'Host is checked before the token');
    }
  });

  it('accepts localhost, 127.0.0.1, [::1] with any port, and configured names', async () => {
    for (const host of [
      'localhost',
      'localhost:3000',
      'LOCALHOST:80',
      '127.0.0.1:9',
      '[::1]',
      '[::1]:3000',
      'chilly.lan:3000',
    ]) {
      const response = await checkedInject(server.app, { method: 'GET', url: '/health', headers: { host } });
      assert.equal(response.statusCode, 200, host);
    }
  });

  it('parses Host headers strictly', () => {
    assert.equal(hostName('[::1]:3000'), '[::1]');
    assert.equal(hostName('Example.COM:8080'), 'example.com');
    assert.equal(hostName('user@localhost'), undefined);
    assert.equal(hostName('localhost:3000:1'), undefined);
    assert.equal(hostName(undefined), undefined);
    assert.equal(createHostCheck([])('127.0.0.2'), false);
  });
});

describe('browser origins and CORS', () => {
  let server: ApiTestServer;
  const ui = 'http://localhost:5173';
  before(async () => {
    server = await createApiTestServer({ config: { allowedOrigins: [ui] } });
  });
  after(() => server.close());

  it('answers 403 origin_not_allowed to any other origin, even with the token', async () => {
    for (const origin of ['http://evil.example', 'null', 'http://localhost:5174', 'http://127.0.0.1:5173']) {
      const response = await checkedInject(server.app, {
        method: 'GET',
        url: '/downloads',
        headers: { ...server.auth, origin },
      });
      assert.equal(response.statusCode, 403, origin);
      assert.equal(errorCode(response), 'origin_not_allowed');
      assert.equal(response.headers['access-control-allow-origin'], undefined);
    }
  });

  it('lets the configured origin in with CORS headers, never a wildcard', async () => {
    const response = await checkedInject(server.app, {
      method: 'GET',
      url: '/downloads',
      headers: { ...server.auth, origin: ui },
    });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['access-control-allow-origin'], ui);
    assert.equal(response.headers['access-control-allow-credentials'], undefined);
    assert.match(String(response.headers['access-control-expose-headers']), /Location, Retry-After/);
  });

  it('answers preflights from the configured origin without a token, and refuses others', async () => {
    const preflight = await checkedInject(server.app, {
      method: 'OPTIONS',
      url: '/download/start',
      headers: {
        origin: ui,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], ui);
    assert.match(String(preflight.headers['access-control-allow-headers']), /Authorization/);
    assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
    const evil = await checkedInject(server.app, {
      method: 'OPTIONS',
      url: '/download/start',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(evil.statusCode, 403);
    const notPreflight = await checkedInject(server.app, { method: 'OPTIONS', url: '/download/start' });
    assert.equal(notPreflight.statusCode, 400);
  });

  it('lets pages served by this server (the docs) call it: same origin as the Host', async () => {
    const response = await checkedInject(server.app, {
      method: 'POST',
      url: '/download/start',
      headers: { ...server.auth, host: 'localhost:3000', origin: 'http://localhost:3000' },
      payload: START,
    });
    assert.equal(response.statusCode, 201);
  });

  it('refuses a wildcard in the allowed origins', () => {
    assert.throws(
      () =>
        createServer({
          service: server.service,
          config: { ...server.config, allowedOrigins: ['*'] },
          token: server.token,
        }),
      (error: unknown) => error instanceof ChillyError && error.code === 'validation_failed',
    );
  });
});

describe('request bodies', () => {
  let server: ApiTestServer;
  before(async () => {
    server = await createApiTestServer();
  });
  after(() => server.close());

  it('answers 415 to text/plain, form posts and multipart on JSON routes', async () => {
    for (const [type, payload] of [
      ['text/plain', JSON.stringify(START)],
      ['text/plain;charset=UTF-8', JSON.stringify(START)],
      ['application/x-www-form-urlencoded', 'id=sec&sourceType=torrent'],
      ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="id"\r\n\r\nsec\r\n--x--\r\n'],
      ['application/xml', '<id/>'],
    ]) {
      const response = await checkedInject(server.app, {
        method: 'POST',
        url: '/download/start',
        headers: { ...server.auth, 'content-type': type as string },
        payload: payload as string,
      });
      assert.equal(response.statusCode, 415, type);
      assert.equal(errorCode(response), 'unsupported_media_type');
    }
  });

  it('answers 413 payload_too_large to JSON bodies over 64 KiB', async () => {
    const response = await checkedInject(server.app, {
      method: 'POST',
      url: '/download/start',
      headers: server.auth,
      payload: { ...START, sourceUrn: `magnet:?xt=urn:btih:${'a'.repeat(40)}&dn=${'x'.repeat(70_000)}` },
    });
    assert.equal(response.statusCode, 413);
    assert.equal(errorCode(response), 'payload_too_large');
  });

  it('answers 400 validation_failed to malformed or empty JSON', async () => {
    for (const payload of ['{"id":', '', '[]', 'null', '"x"']) {
      const response = await checkedInject(server.app, {
        method: 'POST',
        url: '/download/pause',
        headers: { ...server.auth, 'content-type': 'application/json' },
        payload,
      });
      assert.equal(response.statusCode, 400, payload);
      assert.equal(errorCode(response), 'validation_failed');
    }
  });
});

describe('failed-authentication slowdown', () => {
  it('answers 429 with Retry-After to wrong tokens after 5 failures in a minute; the right token still gets in', async () => {
    let now = 1_000_000;
    const server = await createApiTestServer({ authLimiter: new AuthFailureLimiter({ now: () => now }) });
    try {
      const wrong = { authorization: 'Bearer not-the-token-at-all' };
      for (let attempt = 1; attempt <= 5; attempt += 1) {
        now += 1_000;
        const response = await checkedInject(server.app, { method: 'GET', url: '/downloads', headers: wrong });
        assert.equal(response.statusCode, 401, `attempt ${attempt}`);
      }
      const limited = await checkedInject(server.app, { method: 'GET', url: '/downloads', headers: wrong });
      assert.equal(limited.statusCode, 429);
      assert.equal(errorCode(limited), 'rate_limited');
      assert.equal(limited.headers['retry-after'], '56');
      // Another address is not affected, and public routes stay open.
      const other = await checkedInject(server.app, {
        method: 'GET',
        url: '/downloads',
        headers: server.auth,
        remoteAddress: '127.0.0.2',
      });
      assert.equal(other.statusCode, 200);
      assert.equal((await checkedInject(server.app, { method: 'GET', url: '/health' })).statusCode, 200);

      // The right token still gets in (one bad local client must not lock the UI out), and clears the slate.
      const right = await checkedInject(server.app, { method: 'GET', url: '/downloads', headers: server.auth });
      assert.equal(right.statusCode, 200);
      const afterSuccess = await checkedInject(server.app, { method: 'GET', url: '/downloads', headers: wrong });
      assert.equal(afterSuccess.statusCode, 401);
    } finally {
      await server.close();
    }
  });

  it('forgets an address after a success, and remembers a bounded number of addresses', () => {
    let now = 0;
    const limiter = new AuthFailureLimiter({ maxFailures: 2, windowMs: 1_000, maxAddresses: 3, now: () => now });
    limiter.recordFailure('a');
    limiter.recordFailure('a');
    assert.equal(limiter.retryAfterMs('a'), 1_000);
    limiter.recordSuccess('a');
    assert.equal(limiter.retryAfterMs('a'), 0);
    for (let i = 0; i < 100; i += 1) limiter.recordFailure(`10.0.0.${i}`);
    assert.equal(limiter.trackedAddresses, 3);
    now += 1_001;
    assert.equal(limiter.retryAfterMs('10.0.0.99'), 0);
  });
});

describe('errors never leak internals', () => {
  let server: ApiTestServer;
  let logs = '';
  before(async () => {
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs += chunk.toString();
        done();
      },
    });
    server = await createApiTestServer({ logger: { stream, level: 'debug' } });
    server.app.addHook('onRequest', async (request) => {
      request.log.debug({ headers: request.headers }, 'headers seen');
    });
  });
  after(() => server.close());

  it('answers 500 internal_error with a generic message and logs the real error', async () => {
    server.service.get = () => {
      throw new Error('SQLITE_CORRUPT: SELECT secret FROM jobs at /home/user/.local/share/chilly.db');
    };
    const response = await checkedInject(server.app, {
      method: 'GET',
      url: '/download/status/x',
      headers: server.auth,
    });
    assert.equal(response.statusCode, 500);
    assert.deepEqual(JSON.parse(response.body), {
      error: { code: 'internal_error', message: 'An unexpected error occurred.' },
    });
    assert.match(logs, /SQLITE_CORRUPT/, 'the real error is in the server log');
  });

  it('keeps 500-class ChillyError details out of responses too', async () => {
    server.service.pause = async () => {
      throw new ChillyError('download_failed', 'EACCES /home/user/media/x');
    };
    const response = await checkedInject(server.app, {
      method: 'POST',
      url: '/download/pause',
      headers: server.auth,
      payload: { id: 'x' },
    });
    assert.equal(response.statusCode, 500);
    assert.equal(errorCode(response), 'download_failed');
    assert.doesNotMatch(response.body, /EACCES|home/);
  });

  it('answers unknown routes with 404 not_found and has no implicit HEAD routes', async () => {
    const response = await checkedInject(server.app, { method: 'GET', url: '/admin', headers: server.auth });
    assert.equal(response.statusCode, 404);
    assert.equal(errorCode(response), 'not_found');
    const head = await checkedInject(server.app, { method: 'HEAD', url: '/downloads', headers: server.auth });
    assert.equal(head.statusCode, 404);
  });

  it('never writes the token to the log', async () => {
    await checkedInject(server.app, { method: 'GET', url: '/downloads', headers: server.auth });
    await checkedInject(server.app, {
      method: 'GET',
      url: '/downloads',
      headers: { authorization: 'Bearer wrong-token-1234567' },
    });
    assert.match(logs, /headers seen/);
    assert.match(logs, /\[redacted\]/);
    assert.equal(logs.includes(server.token), false);
    assert.equal(logs.includes('wrong-token-1234567'), false);
  });
});
