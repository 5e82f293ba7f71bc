/**
 * Issue 17: a running job's peers, through the API, on a real loopback swarm: the seeder's
 * address, its client named from its peer id, its progress (it has everything), and who is
 * interested in whom; none for a job that is not running.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { type RunningServer, startServer } from '../../src/app.js';
import { loadConfig } from '../../src/config/resolve-config.js';
import type { JobPeer } from '../../src/domain/job.js';
import { createLoopbackSwarm } from '../helpers/loopback-swarm.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

const TOKEN = 'peer-list-test-token-0123456789';

async function peersOf(server: RunningServer, id: string): Promise<JobPeer[]> {
  const response = await fetch(`${server.url}/download/peers/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(response.status, 200);
  return ((await response.json()) as { peers: JobPeer[] }).peers;
}

test("a running job's peers: address, client, progress and interest; none once paused", async () => {
  const work = await tempDir();
  const swarm = await createLoopbackSwarm({
    name: 'Peers.Film.1952.mkv',
    files: [{ path: 'Peers.Film.1952.mkv', size: 8 * 1024 * 1024 }],
    uploadLimit: 256 * 1024,
  });
  const server = await startServer({
    config: loadConfig(
      { CHILLY_DATA_DIR: path.join(work.dir, 'data'), CHILLY_NETWORK: 'loopback', CHILLY_TOKEN: TOKEN },
      { host: '127.0.0.1', port: 0 },
    ),
    logger: false,
  });
  try {
    await server.service.add({ id: 'peers', sourceType: 'torrent', sourceUrn: swarm.magnetURI });
    let peers: JobPeer[] = [];
    await waitUntil(
      async () => {
        peers = await peersOf(server, 'peers');
        return peers.some((peer) => peer.progress === 1 && peer.downloadSpeed > 0);
      },
      { timeoutMs: 30_000, what: 'the seeder in the peer list, sending' },
    );
    const seeder = peers.find((peer) => peer.progress === 1);
    assert.ok(seeder !== undefined);
    assert.match(seeder.address, /^127\.0\.0\.1:\d+$/);
    assert.match(seeder.client, /^WebTorrent/);
    assert.equal(seeder.interested, true, 'we want its pieces');
    assert.equal(seeder.incoming, false, 'we dialled the address the tracker gave');

    await server.service.pause('peers');
    assert.deepEqual(await peersOf(server, 'peers'), []);
  } finally {
    await server.close();
    await swarm.close();
    await work.cleanup();
  }
});
