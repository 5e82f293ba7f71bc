/**
 * Issue 17: BitTorrent v2 magnets. A v2-only magnet (`xt=urn:btmh:` alone) is refused in words as
 * `unsupported_torrent_version` (the engines here download v1 swarms); a hybrid magnet, which
 * names both hashes, is taken by its v1 hash. Through the API too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { resolveTorrentSource } from '../../src/downloaders/torrent-source.js';
import { type ApiTestServer, createApiTestServer } from '../helpers/api-test-server.js';

const V2_ONLY =
  'magnet:?xt=urn:btmh:1220caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e&dn=bittorrent-v2-test';
const HYBRID =
  'magnet:?xt=urn:btih:631a31dd0a46257d5078c0dee4e66e26f73e42ac&xt=urn:btmh:1220d8dd32ac93357c368556af3ac1d95c9d76bd0dff6fa9833ecdac3d53134efabb&dn=bittorrent-v1-v2-hybrid-test';

describe('v2 and hybrid magnets', () => {
  let server: ApiTestServer;
  before(async () => {
    server = await createApiTestServer();
  });
  after(() => server.close());

  test('a v2-only magnet is unsupported_torrent_version, saying what would work', async () => {
    await assert.rejects(
      resolveTorrentSource({ sourceType: 'torrent', sourceUrn: V2_ONLY }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'unsupported_torrent_version');
        assert.match(error.message, /v2/);
        assert.match(error.message, /hybrid|btih/);
        return true;
      },
    );
  });

  test('a hybrid magnet is taken by its v1 info-hash', async () => {
    const source = await resolveTorrentSource({ sourceType: 'torrent', sourceUrn: HYBRID });
    assert.equal(source.infoHash, '631a31dd0a46257d5078c0dee4e66e26f73e42ac');
  });

  test('through the API: 400 unsupported_torrent_version, and the hybrid one is added', async () => {
    const v2 = await server.app.inject({
      method: 'POST',
      url: '/download/start',
      headers: server.auth,
      payload: { sourceType: 'torrent', sourceUrn: V2_ONLY },
    });
    assert.equal(v2.statusCode, 400);
    assert.equal(v2.json().error.code, 'unsupported_torrent_version');
    const hybrid = await server.app.inject({
      method: 'POST',
      url: '/download/start',
      headers: server.auth,
      payload: { sourceType: 'torrent', sourceUrn: HYBRID },
    });
    assert.equal(hybrid.statusCode, 201);
  });
});
