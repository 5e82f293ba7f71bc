/**
 * Shutting down has a code of its own (`shutting_down`, 503), in the API's one error shape:
 * a request that reaches the server while it closes is told so, through a real socket on
 * 127.0.0.1, and `downloader_destroyed` stays what a destroyed driver says when used directly.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { assertMatchesContract } from '../helpers/api-contract.js';
import { type ApiTestServer, createApiTestServer, testMagnet } from '../helpers/api-test-server.js';

/** Splits a raw HTTP/1.1 response (one, with Content-Length) into status, headers and body. */
function parseResponse(raw: string): { statusCode: number; headers: Record<string, string>; body: string } {
  const end = raw.indexOf('\r\n\r\n');
  assert.ok(end > 0, `no complete response in ${JSON.stringify(raw)}`);
  const [statusLine = '', ...lines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { statusCode: Number(statusLine.split(' ')[1]), headers, body: raw.slice(end + 4) };
}

describe('the API while the server shuts down', () => {
  let server: ApiTestServer;
  let port = 0;
  let closeStarted: () => void = () => undefined;
  const closing = new Promise<void>((resolve) => {
    closeStarted = resolve;
  });

  before(async () => {
    server = await createApiTestServer();
    // Runs after the server's own preClose hooks: the close has begun.
    server.app.addHook('preClose', async () => closeStarted());
    port = await server.listen();
  });
  after(() => server.close());

  it('answers a request that arrives during the close with 503 shutting_down', async () => {
    const started = await fetch(`http://127.0.0.1:${port}/download/start`, {
      method: 'POST',
      headers: { ...server.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'late', sourceType: 'torrent', sourceUrn: testMagnet('late') }),
    });
    assert.equal(started.status, 201);

    // A client that is sending its request when the close begins (its headers are not all there
    // yet, so the connection is busy and stays open); the rest arrives once the close has begun.
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const body = JSON.stringify({ id: 'late' });
    socket.write(
      `POST /download/pause HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: ${server.auth.authorization}\r\n`,
    );
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString();
    });
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));

    const closed = server.app.close();
    await closing;
    socket.write(`Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await ended;
    await closed;

    const response = parseResponse(received);
    assert.equal(response.statusCode, 503, received);
    assert.deepEqual((JSON.parse(response.body) as { error: { code: string } }).error.code, 'shutting_down');
    assertMatchesContract('POST', '/download/pause', response);
    assert.equal(server.service.get('late').status, 'downloading', 'the late command was not carried out');
  });

  it('a closed service refuses work with shutting_down; its destroyed driver still says downloader_destroyed', async () => {
    await server.service.close();
    await assert.rejects(server.service.add({ id: 'after', sourceType: 'torrent', sourceUrn: testMagnet('after') }), {
      code: 'shutting_down',
    });
    assert.throws(() => server.service.list(), { code: 'shutting_down' });
    await assert.rejects(
      server.downloader.start({ id: 'direct', sourceType: 'torrent', sourceUrn: testMagnet('direct') }),
      { code: 'downloader_destroyed' },
    );
  });
});
