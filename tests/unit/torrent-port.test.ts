/**
 * Issue 17: a stable torrent port. With CHILLY_TORRENT_PORT unset (0), the server picks a free port
 * once, keeps it in the data folder, and uses it at every start (routers and trackers keep knowing
 * it); one that another program took meanwhile is replaced, with a warning.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chooseTorrentPort, TORRENT_PORT_FILE } from '../../src/storage/torrent-port-file.js';
import { tempDir } from '../helpers/wait.js';

describe('the stable torrent port', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    work = await tempDir();
  });
  after(() => work.cleanup());

  test('chosen once, kept in the data folder, the same at the next start', async () => {
    const warnings: string[] = [];
    const first = await chooseTorrentPort(work.dir, 0, (message) => warnings.push(message));
    assert.ok(first >= 49_152 && first <= 65_535, String(first));
    assert.equal((await readFile(path.join(work.dir, TORRENT_PORT_FILE), 'utf8')).trim(), String(first));
    assert.equal(await chooseTorrentPort(work.dir, 0, (message) => warnings.push(message)), first);
    assert.deepEqual(warnings, []);
  });

  test('a port set in the configuration wins, and is not written', async () => {
    const dir = path.join(work.dir, 'configured');
    assert.equal(await chooseTorrentPort(dir, 51_413, () => undefined), 51_413);
  });

  test('a kept port another program took is replaced, with a warning', async () => {
    const dir = path.join(work.dir, 'taken');
    const kept = await chooseTorrentPort(dir, 0, () => undefined);
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(kept, resolve));
    try {
      const warnings: string[] = [];
      const next = await chooseTorrentPort(dir, 0, (message) => warnings.push(message));
      assert.notEqual(next, kept);
      assert.match(warnings.join('\n'), new RegExp(`${kept}.*in use`));
      assert.equal(await chooseTorrentPort(dir, 0, () => undefined), next, 'the new one is kept');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
