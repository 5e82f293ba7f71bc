import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mainDataRisksCrash, parseQBittorrentVersion } from '../../src/downloaders/qbittorrent/qbittorrent-version.js';

test('qBittorrent versions as the WebUI reports them', () => {
  assert.deepEqual(parseQBittorrentVersion('v4.5.2'), [4, 5, 2]);
  assert.deepEqual(parseQBittorrentVersion('4.6.0rc1'), [4, 6, 0]);
  assert.deepEqual(parseQBittorrentVersion('v5.1'), [5, 1, 0]);
  assert.deepEqual(parseQBittorrentVersion(' v4.4.5 \n'), [4, 4, 5]);
  assert.equal(parseQBittorrentVersion(''), null);
  assert.equal(parseQBittorrentVersion('unknown'), null);
});

test('sync/maindata risks a crash from 4.5.0 up to, not including, 4.6.1', () => {
  for (const version of ['v4.5.0', 'v4.5.0beta1', 'v4.5.2', 'v4.5.5', 'v4.6.0', 'v4.6.0rc2']) {
    assert.equal(mainDataRisksCrash(version), true, version);
  }
  for (const version of [
    'v4.4.5',
    'v4.1.9',
    'v4.6.1',
    'v4.6.7',
    'v5.0.0',
    'v5.1.2',
    'v10.0.0',
    'v40.5.2',
    '',
    'nonsense',
  ]) {
    assert.equal(mainDataRisksCrash(version), false, version);
  }
});
