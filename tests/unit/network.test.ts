import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isNetworkMode } from '../../src/domain/network-mode.js';
import { webTorrentClientOptions } from '../../src/downloaders/webtorrent/client-options.js';

test('loopback turns every public-network feature off', () => {
  const options = webTorrentClientOptions({ network: 'loopback' });
  assert.equal(options.dht, false);
  assert.equal(options.lsd, false);
  assert.equal(options.natUpnp, false);
  assert.equal(options.natPmp, false);
  assert.equal(options.webSeeds, false);
});

test('public turns DHT, LSD, UPnP, NAT-PMP and web seeds on', () => {
  const options = webTorrentClientOptions({ network: 'public' });
  assert.equal(options.dht, true);
  assert.equal(options.lsd, true);
  assert.equal(options.natUpnp, true);
  assert.equal(options.natPmp, true);
  assert.equal(options.webSeeds, true);
});

test('isNetworkMode accepts only the two modes', () => {
  assert.ok(isNetworkMode('public'));
  assert.ok(isNetworkMode('loopback'));
  assert.ok(!isNetworkMode('PUBLIC'));
  assert.ok(!isNetworkMode(undefined));
});
