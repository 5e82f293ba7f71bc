/**
 * Issue 17: a log people can read. One line per request (not two); as text on a terminal
 * (`CHILLY_LOG_FORMAT=text`, `auto` there); every refused request logged with its reason, never the
 * token; values from requests shown escaped, never as control sequences.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { formatLogLine } from '../../src/api/log-text.js';
import { type ApiTestServer, createApiTestServer } from '../helpers/api-test-server.js';

describe('the server log as text', () => {
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
    server = await createApiTestServer({ logger: { level: 'info', stream }, logFormat: 'text' });
  });
  after(() => server.close());

  it('writes one readable line per request', async () => {
    lines.length = 0;
    await server.app.inject({ method: 'GET', url: '/downloads?limit=5', headers: server.auth });
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0] ?? '', /^\d\d:\d\d:\d\d INFO {2}GET \/downloads\?limit=5 → 200 \d+\.\d ms$/);
  });

  it('says why a request was refused, and never logs the token', async () => {
    lines.length = 0;
    await server.app.inject({
      method: 'POST',
      url: '/download/pause',
      headers: { ...server.auth, origin: 'http://evil.example' },
      payload: { id: 'x' },
    });
    await server.app.inject({ method: 'GET', url: '/downloads', headers: { authorization: 'Bearer wrong-token-123' } });
    await server.app.inject({ method: 'GET', url: '/downloads', headers: { host: 'evil.example' } });
    const log = lines.join('\n');
    assert.match(log, /INFO {2}refused a request reason="Origin not allowed" origin="http:\/\/evil\.example"/);
    assert.match(log, /WARN {2}API authentication failed .*reason="wrong token"/);
    assert.match(log, /refused a request reason="Host not allowed" host="evil\.example"/);
    assert.ok(!log.includes(server.token) && !log.includes('wrong-token-123'), log);
  });
});

describe('formatLogLine', () => {
  it('never lets a control character through (fast-check, fixed seed)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (url, origin) => {
        const line = JSON.stringify({
          level: 30,
          time: 0,
          msg: origin,
          req: { method: 'GET', url },
          res: { statusCode: 200 },
          origin,
        });
        const text = formatLogLine(line);
        assert.ok(text.endsWith('\n'));
        // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for them
        assert.doesNotMatch(text.slice(0, -1), /[\u0000-\u001f\u007f-\u009f]/);
      }),
      { seed: 17, numRuns: 500 },
    );
  });
});
