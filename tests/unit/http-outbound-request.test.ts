/**
 * The one helper every outbound request goes through (src/http/outbound-request.ts), against a
 * real HTTP server on 127.0.0.1: deadlines, the caller's abort, the body cap (by Content-Length
 * and mid-stream, where the connection must go), refused protocols, and no secret in any error.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { ChillyError, isChillyError } from '../../src/domain/errors.js';
import {
  type OutboundFailure,
  OutboundRequestError,
  type OutboundRequestOptions,
  outboundRequest,
  parseHttpUrl,
  redactSecrets,
} from '../../src/http/outbound-request.js';

const FUZZ = { seed: 1414, numRuns: 2_000 } as const;
const CHUNK = Buffer.alloc(16 * 1024, 0x61);

let server: http.Server;
let origin: string;
/** The request URL and Authorization header each route saw, newest last. */
const seen: Array<{ url: string; authorization: string | undefined }> = [];
/** Resolves when the `/endless` response is torn down before it ended. */
let endlessClosed: Promise<void> = Promise.resolve();

function route(request: http.IncomingMessage, response: http.ServerResponse): void {
  seen.push({ url: request.url ?? '', authorization: request.headers.authorization });
  const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
  if (path === '/ok') {
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' }).end('hello');
  } else if (path === '/declared') {
    response.writeHead(200, { 'content-length': '1000' }).end(Buffer.alloc(1000));
  } else if (path === '/endless') {
    // No Content-Length, and no end: only the client's cap stops it. Writes respect backpressure.
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    endlessClosed = new Promise((resolve) => response.on('close', () => resolve()));
    const pump = (): void => {
      while (!response.destroyed && response.write(CHUNK));
      if (!response.destroyed) response.once('drain', pump);
    };
    pump();
  } else if (path === '/silent') {
    // Never answers: the client's deadline or abort must end it.
  } else if (path === '/stall-body') {
    response.writeHead(200, { 'content-length': '100' });
    response.write('ten bytes!');
  } else if (path === '/hang-up') {
    request.socket.destroy();
  } else if (path === '/redirect') {
    response.writeHead(302, { location: '/ok' }).end();
  } else {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('no such thing');
  }
}

before(async () => {
  server = http.createServer(route);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A request to `path` on the loopback server; failures read `GET <path>: <detail>.` */
function request(path: string, options: Partial<OutboundRequestOptions> = {}) {
  return outboundRequest(new URL(path, origin), {
    timeoutMs: 2_000,
    maxBytes: 1024 * 1024,
    failure: { code: 'metadata_unavailable', describe: (failure) => `GET ${path}: ${failure.detail}.` },
    ...options,
  });
}

/** What `promise` rejects with; resolving fails the test. */
function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

/** Fails the test unless `event` happens within a second. */
async function promptly(event: Promise<void>, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not within 1 s: ${what}`)), 1_000);
  });
  try {
    await Promise.race([event, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function outboundFailure(promise: Promise<unknown>): Promise<OutboundRequestError> {
  const error = await rejection(promise);
  assert.ok(error instanceof OutboundRequestError, inspect(error));
  return error;
}

describe('outboundRequest', () => {
  it('returns status, headers and the whole body; sends the given headers', async () => {
    const response = await request('/ok', { headers: { accept: 'text/plain', authorization: 'Bearer t0ken' } });
    assert.equal(response.status, 200);
    assert.equal(response.ok, true);
    assert.equal(response.headers.get('content-type'), 'text/plain');
    assert.equal(response.body.toString('utf8'), 'hello');
    assert.equal(seen.at(-1)?.authorization, 'Bearer t0ken');
  });

  it('resolves any HTTP status: judging it is the caller’s business', async () => {
    const response = await request('/missing');
    assert.equal(response.status, 404);
    assert.equal(response.body.toString('utf8'), 'no such thing');
  });

  it('does not follow a redirect unless asked to', async () => {
    const manual = await request('/redirect');
    assert.equal(manual.status, 302);
    assert.equal(manual.headers.get('location'), '/ok');
    const followed = await request('/redirect', { redirect: 'follow' });
    assert.equal(followed.status, 200);
    assert.equal(followed.body.toString('utf8'), 'hello');
  });

  it('a body over the cap mid-stream: too_large, the connection is cut, nothing past the cap kept', async () => {
    // A deadline far away: only the cap may end this.
    const error = await outboundFailure(request('/endless', { maxBytes: 64 * 1024, timeoutMs: 60_000 }));
    assert.equal(error.code, 'metadata_unavailable');
    assert.deepEqual(error.failure, {
      kind: 'too_large',
      maxBytes: 64 * 1024,
      declaredBytes: undefined,
      detail: 'more than 65536 bytes',
    });
    assert.equal(error.message, 'GET /endless: more than 65536 bytes.');
    assert.equal(error.retryable, false);
    await promptly(endlessClosed, 'the server sees its endless answer torn down');
  });

  it('a Content-Length over the cap is refused before the body is read, under tooLargeCode', async () => {
    const error = await outboundFailure(
      request('/declared', {
        maxBytes: 100,
        failure: { code: 'torrent_file_unreadable', tooLargeCode: 'invalid_torrent', describe: (f) => f.detail },
      }),
    );
    assert.equal(error.code, 'invalid_torrent');
    assert.equal(error.failure.kind, 'too_large');
    assert.equal(error.message, '1000 bytes is over the limit');
    assert.equal((error.failure as Extract<OutboundFailure, { kind: 'too_large' }>).declaredBytes, 1000);
    // Exactly at the cap is fine.
    assert.equal((await request('/declared', { maxBytes: 1000 })).body.byteLength, 1000);
  });

  it('no answer before the deadline: timeout, promptly', async () => {
    const started = Date.now();
    const error = await outboundFailure(request('/silent', { timeoutMs: 150 }));
    assert.deepEqual(error.failure, { kind: 'timeout', timeoutMs: 150, detail: 'no answer within 150 ms' });
    assert.equal(error.message, 'GET /silent: no answer within 150 ms.');
    assert.equal(error.retryable, true);
    assert.ok(Date.now() - started < 1_500, 'stopped at its deadline');
  });

  it('the deadline covers the body too', async () => {
    const error = await outboundFailure(request('/stall-body', { timeoutMs: 200 }));
    assert.equal(error.failure.kind, 'timeout');
  });

  it("the caller's abort stops the request with the caller's own reason", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('user left')), 50);
    const error = await rejection(request('/silent', { signal: controller.signal }));
    assert.equal((error as Error).message, 'user left');
    assert.equal(error instanceof OutboundRequestError, false);
  });

  it('a dropped connection and a closed port are network errors', async () => {
    const dropped = await outboundFailure(request('/hang-up'));
    assert.equal(dropped.failure.kind, 'network');
    assert.match(dropped.failure.detail, /^network error: /);

    const gone = http.createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', () => resolve()));
    const port = (gone.address() as AddressInfo).port;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    const refused = await outboundFailure(
      outboundRequest(new URL(`http://127.0.0.1:${port}/`), {
        timeoutMs: 2_000,
        maxBytes: 10,
        failure: { code: 'metadata_unavailable', describe: (f) => f.detail },
      }),
    );
    assert.equal(refused.failure.detail, 'network error: fetch failed (ECONNREFUSED)');
    assert.equal(refused.retryable, true);
  });

  it('beforeBody refuses an answer with its own error, and the body is not read', async () => {
    const refusal = new ChillyError('validation_failed', 'not wanted');
    const error = await rejection(
      request('/endless', {
        maxBytes: Number.MAX_SAFE_INTEGER,
        timeoutMs: 60_000,
        beforeBody: (head) => {
          assert.equal(head.status, 200);
          assert.equal(head.hasBody, true);
          throw refusal;
        },
      }),
    );
    assert.equal(error, refusal);
    await promptly(endlessClosed, 'the server sees its answer torn down');
  });

  it('refuses every protocol but http(s), before any request', async () => {
    let fetches = 0;
    const counting: typeof fetch = async (...args) => {
      fetches++;
      return fetch(...args);
    };
    for (const url of ['file:///etc/passwd', 'ftp://127.0.0.1/x', 'data:text/plain,hi', 'ws://127.0.0.1/']) {
      const error = await rejection(
        outboundRequest(new URL(url), {
          timeoutMs: 1_000,
          maxBytes: 10,
          fetch: counting,
          failure: { code: 'metadata_unavailable', describe: (f) => f.detail },
        }),
      );
      assert.ok(isChillyError(error, 'validation_failed'), `${url}: ${inspect(error)}`);
    }
    assert.equal(fetches, 0);
  });

  it('refuses a cap or a deadline that would not hold, before any request', async () => {
    for (const bad of [{ maxBytes: Number.NaN }, { maxBytes: -1 }, { timeoutMs: 1.5 }, { timeoutMs: -1 }]) {
      const error = await rejection(request('/ok', bad));
      assert.ok(isChillyError(error, 'validation_failed'), `${JSON.stringify(bad)}: ${inspect(error)}`);
    }
  });

  it('never shows the api_key or the Authorization header, wherever an error quotes them', async () => {
    const key = 'sekrit-api-key-3f9a1c';
    const token = 'sekrit-read-token-77b2e0';
    const url = new URL(`/hang-up?query=matrix&api_key=${key}`, origin);
    // A fetch whose error quotes the whole request, as some do.
    const quoting: typeof fetch = async (input, init) => {
      await fetch(input, init).catch(() => undefined);
      const authorization = new Headers(init?.headers).get('authorization');
      throw new TypeError(`fetch failed: GET ${String(input)} (${authorization})`, {
        cause: { code: 'ECONNRESET', message: `socket closed after ${token}` },
      });
    };
    const error = await outboundFailure(
      outboundRequest(url, {
        timeoutMs: 2_000,
        maxBytes: 10,
        headers: { Authorization: `Bearer ${token}` },
        fetch: quoting,
        // A careless caller that quotes the URL: the helper redacts its words too.
        failure: { code: 'metadata_unavailable', describe: (f) => `GET ${url.href}: ${f.detail}` },
      }),
    );
    const shown = [inspect(error, { depth: Number.POSITIVE_INFINITY }), JSON.stringify(error), String(error)].join();
    assert.ok(!shown.includes(key), `key leaked: ${shown}`);
    assert.ok(!shown.includes(token), `token leaked: ${shown}`);
    assert.match(error.message, /api_key=\[redacted\]/);
    assert.match(error.failure.detail, /^network error: fetch failed: GET .*\(Bearer \[redacted\]\) \(ECONNRESET\)$/);
    // They did reach the server, where they belong.
    assert.ok(seen.some((entry) => entry.url.includes(key) && entry.authorization === `Bearer ${token}`));
  });
});

describe('parseHttpUrl', () => {
  it('accepts absolute http(s) URLs and refuses the rest with the caller’s code and words', () => {
    assert.equal(parseHttpUrl('https://image.tmdb.org/t/p/w500/x.jpg', { message: 'no' }).protocol, 'https:');
    assert.equal(parseHttpUrl('HTTP://127.0.0.1:8080/a', { message: 'no' }).protocol, 'http:');
    for (const text of ['file:///etc/passwd', 'ftp://h/x', 'javascript:alert(1)', '/relative', 'not a url', '']) {
      assert.throws(
        () => parseHttpUrl(text, { code: 'torrent_file_unreadable', message: 'refused' }),
        (error) => isChillyError(error, 'torrent_file_unreadable') && error.message === 'refused',
        text,
      );
    }
    assert.throws(
      () => parseHttpUrl('gopher://h/', { message: 'refused' }),
      (e) => isChillyError(e, 'validation_failed'),
    );
  });

  it('fuzzed: a URL of http(s) or a ChillyError with the given code, never anything else', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      fc
        .tuple(
          fc.constantFrom('http:', 'https:', 'HTTP://', 'file:', 'ftp://', 'data:', 'javascript:', ''),
          fc.string(),
        )
        .map(([scheme, rest]) => scheme + rest),
    );
    fc.assert(
      fc.property(text, (input) => {
        let url: URL;
        try {
          url = parseHttpUrl(input, { code: 'invalid_source', message: 'refused' });
        } catch (error) {
          assert.ok(isChillyError(error, 'invalid_source'), inspect(error));
          return;
        }
        assert.ok(url.protocol === 'http:' || url.protocol === 'https:', url.href);
      }),
      FUZZ,
    );
  });
});

describe('redactSecrets', () => {
  const secret = fc.stringMatching(/^[A-Za-z0-9_-]{11,40}$/);
  const filler = fc.string({ maxLength: 20 });

  it('replaces secret query parameters (any case) and the given secrets, and keeps the rest', () => {
    assert.equal(
      redactSecrets('GET /3/movie?API_KEY=abc&page=2&token=t&Passkey=p#x failed', []),
      'GET /3/movie?API_KEY=[redacted]&page=2&token=[redacted]&Passkey=[redacted] failed',
    );
    assert.equal(
      redactSecrets('Bearer s3cret-token-value', ['s3cret-token-value', undefined, '']),
      'Bearer [redacted]',
    );
    assert.equal(redactSecrets('nothing to hide ?page=1&keyword=x'), 'nothing to hide ?page=1&keyword=x');
  });

  it('fuzzed: a secret never survives, wherever and however often it stands', () => {
    fc.assert(
      fc.property(secret, fc.array(filler, { minLength: 1, maxLength: 5 }), (value, pieces) => {
        const text = pieces.join(value);
        const redacted = redactSecrets(text, [value]);
        assert.ok(!redacted.includes(value), `${JSON.stringify(text)} → ${JSON.stringify(redacted)}`);
        assert.equal(redactSecrets(redacted, [value]), redacted, 'a second pass changes nothing');
      }),
      FUZZ,
    );
  });

  it('fuzzed: the value of a secret query parameter never survives', () => {
    const name = fc.constantFrom('api_key', 'API_KEY', 'apikey', 'key', 'token', 'access_token', 'password', 'passkey');
    fc.assert(
      fc.property(name, secret, filler, (parameter, value, tail) => {
        const text = `fetch failed: GET http://127.0.0.1/x?a=1&${parameter}=${value} ${tail}`;
        const redacted = redactSecrets(text);
        assert.ok(!redacted.includes(value), `${JSON.stringify(text)} → ${JSON.stringify(redacted)}`);
        assert.ok(redacted.includes(`${parameter}=[redacted]`), redacted);
      }),
      FUZZ,
    );
  });

  it('fuzzed: text with no secret in it is kept as it is', () => {
    fc.assert(
      fc.property(filler, (text) => {
        fc.pre(!/[?&](?:api_?key|key|token|access_token|password|passkey|torrent_pass|authkey)=/i.test(text));
        assert.equal(redactSecrets(text, ['never-in-the-text-0123456789']), text);
      }),
      FUZZ,
    );
  });
});
