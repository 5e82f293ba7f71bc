/**
 * How a peer's address is written in every engine's peer list: as qBittorrent and Transmission
 * write it, an IPv4 peer that reached a dual-stack socket (`::ffff:a.b.c.d`) as IPv4.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { peerAddress } from '../../src/downloaders/peer-address.js';

test('IPv4 as it is, IPv6 in brackets, and IPv4 mapped to IPv6 as IPv4', () => {
  assert.equal(peerAddress('203.0.113.7', 51413), '203.0.113.7:51413');
  assert.equal(peerAddress('2001:db8::1', 6881), '[2001:db8::1]:6881');
  assert.equal(peerAddress('::1', 6881), '[::1]:6881');
  assert.equal(peerAddress('::ffff:127.0.0.1', 40000), '127.0.0.1:40000');
  assert.equal(peerAddress('::FFFF:10.0.0.1', 1), '10.0.0.1:1');
  // Only a whole dotted quad is unmapped: other forms stay IPv6.
  assert.equal(peerAddress('::ffff:7f00:1', 2), '[::ffff:7f00:1]:2');
});
