/**
 * Issue 16: signing a browser in without copying the token. A sign-in code works once and for
 * 60 s; it becomes an HttpOnly, SameSite=Strict session cookie; changes made with the cookie need
 * `X-Requested-By: chilly` (a cross-site page cannot send it) and a same-site Origin; signing out
 * ends the session on the server. Plus the web app's page (strict CSP) and GET /settings.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Sessions } from '../../src/api/sessions.js';
import { assertMatchesContract } from '../helpers/api-contract.js';
import { type ApiTestServer, createApiTestServer, testMagnet } from '../helpers/api-test-server.js';
import { tempDir } from '../helpers/wait.js';

describe('browser sessions', () => {
  let server: ApiTestServer;
  let work: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    work = await tempDir();
    const web = path.join(work.dir, 'web');
    await mkdir(web, { recursive: true });
    await writeFile(
      path.join(web, 'index.html'),
      '<!doctype html><title>Chilly</title><script src="/app/app.js"></script>',
    );
    await writeFile(path.join(web, 'app.js'), 'console.log(1)');
    await writeFile(path.join(web, 'app.css'), 'body{}');
    server = await createApiTestServer({ webAppFolder: web });
  });
  after(async () => {
    await server.close();
    await work.cleanup();
  });

  async function inject(
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    init: { headers?: Record<string, string>; body?: unknown } = {},
  ) {
    const response = await server.app.inject({
      method,
      url,
      headers: { host: '127.0.0.1:3000', ...init.headers },
      ...(init.body === undefined ? {} : { payload: init.body as Record<string, unknown> }),
    });
    assertMatchesContract(method, url, {
      statusCode: response.statusCode,
      headers: response.headers,
      body: response.body,
    });
    return response;
  }

  async function signIn(): Promise<string> {
    const issued = await inject('POST', '/auth/sign-in-codes', { headers: server.auth });
    assert.equal(issued.statusCode, 201);
    const { code, url } = issued.json() as { code: string; url: string };
    assert.equal(url, `http://127.0.0.1:3000/#signin=${code}`, 'the code travels in the fragment');
    const signedIn = await inject('POST', '/auth/session', { body: { code } });
    assert.equal(signedIn.statusCode, 204);
    const cookie = String(signedIn.headers['set-cookie']);
    assert.match(cookie, /^chilly_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Expires=/);
    const expires = Date.parse(cookie.replace(/.*Expires=/, ''));
    assert.ok(expires > Date.now() + 11 * 3600_000 && expires < Date.now() + 13 * 3600_000, 'expires in 12 hours');
    return cookie.split(';')[0] ?? '';
  }

  test('a sign-in code works once; the session cookie then reads and, with X-Requested-By, changes', async () => {
    const issued = (await inject('POST', '/auth/sign-in-codes', { headers: server.auth })).json() as { code: string };
    assert.equal((await inject('POST', '/auth/session', { body: { code: issued.code } })).statusCode, 204);
    const again = await inject('POST', '/auth/session', { body: { code: issued.code } });
    assert.equal(again.statusCode, 401, 'refused the second time');
    assert.match(again.json().error.message, /chilly open/);

    const cookie = await signIn();
    const state = await inject('GET', '/auth/session', { headers: { cookie } });
    assert.equal(state.statusCode, 200);
    assert.equal(state.json().via, 'session');
    assert.equal((await inject('GET', '/downloads', { headers: { cookie } })).statusCode, 200);

    const start = { sourceType: 'torrent', sourceUrn: testMagnet('session') };
    const unproven = await inject('POST', '/download/start', { headers: { cookie }, body: start });
    assert.equal(unproven.statusCode, 403);
    assert.equal(unproven.json().error.code, 'cross_site_request');
    const crossSite = await inject('POST', '/download/start', {
      headers: { cookie, 'x-requested-by': 'chilly', origin: 'http://evil.example' },
      body: start,
    });
    assert.equal(crossSite.statusCode, 403);
    assert.equal(crossSite.json().error.code, 'origin_not_allowed');
    assert.equal(server.service.list().total, 0, 'nothing was started by the refused requests');
    const proven = await inject('POST', '/download/start', {
      headers: { cookie, 'x-requested-by': 'chilly', origin: 'http://127.0.0.1:3000' },
      body: start,
    });
    assert.equal(proven.statusCode, 201);

    const out = await inject('DELETE', '/auth/session', { headers: { cookie } });
    assert.equal(out.statusCode, 204);
    assert.match(String(out.headers['set-cookie']), /^chilly_session=; .*Expires=Thu, 01 Jan 1970/);
    assert.equal((await inject('GET', '/downloads', { headers: { cookie } })).statusCode, 401, 'ended on the server');
  });

  test('the token, pasted, also signs in; a wrong one or a made-up code does not', async () => {
    const pasted = await inject('POST', '/auth/session', { body: { token: server.token } });
    assert.equal(pasted.statusCode, 204);
    assert.equal((await inject('POST', '/auth/session', { body: { token: 'not-the-token' } })).statusCode, 401);
    assert.equal((await inject('POST', '/auth/session', { body: { code: 'made-up' } })).statusCode, 401);
    assert.equal((await inject('POST', '/auth/session', { body: { code: 'a', token: 'b' } })).statusCode, 400);
    assert.equal((await inject('POST', '/auth/session', { body: {} })).statusCode, 400);
    // Without the token (or a session), no sign-in codes.
    assert.equal((await inject('POST', '/auth/sign-in-codes')).statusCode, 401);
  });

  test('the web app is served with a strict Content-Security-Policy, without a token', async () => {
    const page = await inject('GET', '/');
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    assert.match(csp, /frame-ancestors 'none'/);
    const script = await inject('GET', '/app/app.js');
    assert.equal(script.statusCode, 200);
    assert.match(String(script.headers['content-type']), /^application\/javascript/);
    assert.equal((await inject('GET', '/app/other.js')).statusCode, 400);
  });

  test('GET /settings: every setting by key, secrets masked, the engine and the checks', async () => {
    const cookie = await signIn();
    const answer = await inject('GET', '/settings', { headers: { cookie } });
    assert.equal(answer.statusCode, 200);
    const body = answer.json() as {
      settings: Record<string, unknown>;
      engine: { name: string; capabilities: Record<string, boolean> };
      checks: { check: string }[];
    };
    assert.equal(body.settings.port, 0);
    assert.equal(body.settings['seeding.ratio'], 1);
    assert.equal(body.settings['tmdb.apiKey'], null, 'an unset secret is null');
    assert.equal(body.settings.engine, 'webtorrent');
    assert.equal(body.engine.name, 'mock');
    assert.deepEqual(
      body.checks.map((check) => check.check),
      ['engine', 'media folder', 'movie metadata', 'network'],
    );
  });
});

describe('sign-in codes and sessions expire', () => {
  test('a code after 60 s, a session after 12 hours', () => {
    let now = 1_000_000;
    const sessions = new Sessions({ now: () => now });
    const { code } = sessions.issueCode();
    now += 60_001;
    assert.equal(sessions.redeemCode(code), false);
    const fresh = sessions.issueCode();
    now += 59_000;
    assert.equal(sessions.redeemCode(fresh.code), true);
    const session = sessions.open();
    assert.ok(sessions.expiresAt(session.id) !== undefined);
    now += 12 * 3600_000 + 1;
    assert.equal(sessions.expiresAt(session.id), undefined);
  });
});
