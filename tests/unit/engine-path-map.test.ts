/**
 * CHILLY_ENGINE_PATH_MAP: where an external engine's download folder is readable here. Paths the
 * engine reports are mapped only inside the mapped folder, never through `..`, and back again.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseEnginePathMap, toEnginePath, toLocalPath } from '../../src/config/engine-settings.js';
import { resolveConfig } from '../../src/config/resolve-config.js';

describe('the engine path map', () => {
  test('reads /remote=/local, both absolute; anything else is not a map', () => {
    assert.deepEqual(parseEnginePathMap('/downloads=/mnt/nas/downloads'), {
      remote: '/downloads',
      local: '/mnt/nas/downloads',
    });
    assert.deepEqual(parseEnginePathMap('/data/torrents/=/srv/torrents'), {
      remote: '/data/torrents',
      local: '/srv/torrents',
    });
    assert.deepEqual(parseEnginePathMap('D:\\Torrents=/mnt/d/Torrents'), {
      remote: 'D:\\Torrents',
      local: '/mnt/d/Torrents',
    });
    for (const bad of ['', '/downloads', '=/mnt', '/downloads=', 'downloads=/mnt', '/downloads=relative/path']) {
      assert.equal(parseEnginePathMap(bad), undefined, bad);
    }
  });

  test('maps engine paths inside the folder only, never through ..', () => {
    const map = { remote: '/downloads', local: '/mnt/nas/downloads' };
    assert.equal(toLocalPath(map, '/downloads'), '/mnt/nas/downloads');
    assert.equal(toLocalPath(map, '/downloads/night/Night.mkv'), '/mnt/nas/downloads/night/Night.mkv');
    assert.equal(toLocalPath(map, '/downloads-other/x'), undefined);
    assert.equal(toLocalPath(map, '/downloads/../etc/passwd'), undefined);
    assert.equal(toLocalPath(map, '/elsewhere/x'), undefined);
    assert.equal(toLocalPath(undefined, '/downloads/x'), undefined);
    assert.equal(toEnginePath(map, '/mnt/nas/downloads/night'), '/downloads/night');
    assert.equal(toEnginePath(map, '/mnt/nas/other'), undefined);
    const windows = { remote: 'D:\\Torrents', local: '/mnt/d/Torrents' };
    assert.equal(toLocalPath(windows, 'D:\\Torrents\\night'), '/mnt/d/Torrents/night');
    assert.equal(toEnginePath(windows, '/mnt/d/Torrents/night'), 'D:\\Torrents\\night');
  });

  test('a folder inside the map goes to the engine and back unchanged (fast-check, fixed seed)', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9 _.-]{1,12}$/).filter((part) => part !== '.' && part !== '..');
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), (parts) => {
        const map = { remote: '/downloads', local: '/mnt/nas/downloads' };
        const local = `/mnt/nas/downloads/${parts.join('/')}`;
        const remote = toEnginePath(map, local);
        assert.ok(remote?.startsWith('/downloads/'));
        assert.equal(toLocalPath(map, remote ?? ''), local);
      }),
      { seed: 15, numRuns: 300 },
    );
  });

  test('a bad CHILLY_ENGINE or CHILLY_ENGINE_PATH_MAP stops the configuration with the setting named', () => {
    assert.throws(() => resolveConfig({ env: { CHILLY_ENGINE: 'deluge' } }), /CHILLY_ENGINE="deluge".*webtorrent/);
    assert.throws(() => resolveConfig({ env: { CHILLY_ENGINE_PATH_MAP: '/a' } }), /CHILLY_ENGINE_PATH_MAP/);
    const { config } = resolveConfig({
      env: { CHILLY_ENGINE: 'transmission', CHILLY_ENGINE_PATH_MAP: '/downloads=/mnt/nas' },
    });
    assert.equal(config.engine, 'transmission');
    assert.deepEqual(config.enginePathMap, { remote: '/downloads', local: '/mnt/nas' });
    assert.equal(config.transmission.url, 'http://127.0.0.1:9091/transmission/rpc');
  });
});
