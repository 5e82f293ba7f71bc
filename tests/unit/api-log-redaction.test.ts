/**
 * The request log never holds a secret: query parameters that carry one (`t`, `token`,
 * `access_token`, `api_key`/`apikey`, `key`, `password`, in any case, percent-encoded names too)
 * are redacted in every logged URL, and so is the Authorization header. Captured from pino as
 * the server writes it, for requests that succeed, fail authentication, fail validation or miss.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { redactStreamToken } from '../../src/api/create-server.js';
import { AuthFailureLimiter } from '../../src/api/security.js';
import { type ApiTestServer, createApiTestServer, testMagnet } from '../helpers/api-test-server.js';

describe('the request log holds no secret', () => {
  let server: ApiTestServer;
  const lines: string[] = [];

  before(async () => {
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(
          ...String(chunk)
            .split('\n')
            .filter((line) => line !== ''),
        );
        done();
      },
    });
    // Many deliberate failures: a limiter that never answers 429, so every request reaches its route.
    server = await createApiTestServer({
      logger: { level: 'info', stream },
      authLimiter: new AuthFailureLimiter({ maxFailures: 1_000 }),
    });
    await server.service.add({ id: 'film', sourceType: 'torrent', sourceUrn: testMagnet('logged film') });
  });
  after(() => server.close());

  it('redacts secret query parameters, whatever their case, and keeps the others', async () => {
    const requests: Array<{ url: string; secret: string; auth?: boolean }> = [
      { url: '/downloads?token=SECRET-token-1&limit=5', secret: 'SECRET-token-1', auth: true },
      { url: '/downloads?limit=5&TOKEN=SECRET-token-2', secret: 'SECRET-token-2' },
      { url: '/download/status/film?access_token=SECRET-access-3', secret: 'SECRET-access-3' },
      { url: '/downloads?api_key=SECRET-apikey-4', secret: 'SECRET-apikey-4' },
      { url: '/downloads?apiKey=SECRET-apikey-5', secret: 'SECRET-apikey-5' },
      { url: '/downloads?Key=SECRET-key-6', secret: 'SECRET-key-6' },
      { url: '/downloads?password=SECRET-password-7', secret: 'SECRET-password-7' },
      { url: '/stream/film?T=SECRET-t-8', secret: 'SECRET-t-8' },
      { url: '/stream/film?t=SECRET-t-9', secret: 'SECRET-t-9' },
      // A name the query parser decodes to `token`.
      { url: '/downloads?%74oken=SECRET-encoded-10', secret: 'SECRET-encoded-10' },
      { url: '/no/such/route?token=SECRET-missing-11', secret: 'SECRET-missing-11' },
      { url: '/downloads?limit=oops&password=SECRET-invalid-12', secret: 'SECRET-invalid-12', auth: true },
      { url: '/downloads?token=SECRET-twice-13&token=SECRET-twice-14', secret: 'SECRET-twice-1', auth: true },
    ];
    for (const request of requests) {
      await server.app.inject({ method: 'GET', url: request.url, headers: request.auth === true ? server.auth : {} });
    }
    const log = lines.join('\n');
    for (const { secret } of requests) assert.ok(!log.includes(secret), `${secret} is in the log:\n${log}`);
    assert.match(log, /"url":"\/downloads\?token=\[redacted\]&limit=5"/, 'the other parameters stay');
    assert.match(log, /"url":"\/downloads\?limit=5&TOKEN=\[redacted\]"/);
    assert.match(log, /"url":"\/downloads\?%74oken=\[redacted\]"/);
  });

  it('never logs the bearer token', async () => {
    await server.app.inject({ method: 'GET', url: '/downloads', headers: server.auth });
    await server.app.inject({
      method: 'GET',
      url: '/downloads',
      headers: { authorization: 'Bearer SECRET-wrong-bearer' },
    });
    const log = lines.join('\n');
    assert.ok(!log.includes(server.token), 'the API token');
    assert.ok(!log.includes('SECRET-wrong-bearer'), 'a wrong token');
  });
});

describe('redactStreamToken', () => {
  it('redacts every secret parameter and nothing else', () => {
    assert.equal(redactStreamToken('/stream/a?t=1.abc'), '/stream/a?t=[redacted]');
    assert.equal(redactStreamToken('/x?tab=1&t=2&at=3'), '/x?tab=1&t=[redacted]&at=3');
    assert.equal(redactStreamToken('/x?Access_Token=1&keys=2&monkey=3'), '/x?Access_Token=[redacted]&keys=2&monkey=3');
    assert.equal(redactStreamToken('/x?password'), '/x?password', 'a name without a value has nothing to hide');
    assert.equal(redactStreamToken('/x?password='), '/x?password=[redacted]');
    assert.equal(redactStreamToken('/no-query'), '/no-query');
    assert.equal(redactStreamToken('/x?api%5Fkey=1'), '/x?api%5Fkey=[redacted]');
    assert.equal(redactStreamToken('/x?%zz=1&key=2'), '/x?%zz=1&key=[redacted]', 'a malformed name is kept');
  });
});
