/**
 * The engine check (src/engine/engine-patches.ts): every patch in patches/ has a probe, the engine
 * in node_modules passes them all, and each probe fails on a stand-in that behaves as the
 * unpatched package does (so a passing check means something). The bundled engine is checked from
 * a consumer's install in tests/integration/package-consumer.test.ts.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { engineModules } from '../../src/engine/bittorrent-engine.js';
import { checkEngine } from '../../src/engine/check-engine.js';
import { checkEngineModules, ENGINE_PROBES, type EngineModules } from '../../src/engine/engine-patches.js';
import { REPO_ROOT } from '../helpers/cli-run.js';

/** The modules with one replaced by a stand-in. */
function withStandIn(patch: Partial<EngineModules>): EngineModules {
  return { ...engineModules, ...patch } as EngineModules;
}

async function problemOf(name: string, modules: EngineModules): Promise<string | undefined> {
  const report = await checkEngineModules(modules);
  const check = report.checks.find((entry) => entry.name === name);
  assert.ok(check !== undefined, name);
  return check.problem;
}

describe('engine check', () => {
  test('has a probe for every patch in patches/, and no other', () => {
    const patches = readdirSync(path.join(REPO_ROOT, 'patches'))
      .filter((name) => name.endsWith('.patch'))
      .map((name) => name.slice(0, -'.patch'.length))
      .sort();
    const probed = ENGINE_PROBES.filter((probe) => probe.kind === 'patch')
      .map((probe) => probe.name)
      .sort();
    assert.deepEqual(probed, patches);
  });

  test('the engine in node_modules carries every patch and pin', async () => {
    const report = await checkEngine();
    assert.equal(report.bundled, false);
    assert.deepEqual(
      report.checks.filter((check) => !check.ok),
      [],
    );
    assert.equal(report.ok, true);
  });

  test('each probe fails on a stand-in that behaves as the unpatched package', async () => {
    const unpatchedDecode = {
      decode: (data: Uint8Array) => data.subarray(2),
      encode: () => new Uint8Array(),
    };
    class PlainTorrent {}
    class PlainPiece {
      constructor(readonly length: number) {}
    }
    assert.match(
      (await problemOf('bencode+4.0.1', withStandIn({ bencode: unpatchedDecode as never }))) ?? '',
      /decoded/,
    );
    assert.match(
      (await problemOf('k-rpc-socket++bencode+2.0.3', withStandIn({ dhtBencode: unpatchedDecode as never }))) ?? '',
      /decoded/,
    );
    assert.ok(await problemOf('webtorrent+2.8.5', withStandIn({ WebTorrentTorrent: PlainTorrent as never })));
    class EarlierPatchTorrent {
      _handleMetadata(): void {}
    }
    assert.match(
      (await problemOf('webtorrent+2.8.5', withStandIn({ WebTorrentTorrent: EarlierPatchTorrent as never }))) ?? '',
      /endConnections/,
    );
    assert.ok(await problemOf('torrent-piece+3.0.2', withStandIn({ TorrentPiece: PlainPiece as never })));
    const hrtimeMeter = () => () => process.hrtime()[1];
    assert.match(
      (await problemOf('throughput+1.0.2', withStandIn({ throughput: hrtimeMeter as never }))) ?? '',
      /process\.hrtime/,
    );
    assert.ok(await problemOf('ut_metadata+4.0.3', withStandIn({ utMetadata: (() => class {}) as never })));
    assert.ok(
      await problemOf(
        'uint8-util@2.2.5',
        withStandIn({
          arr2hex: ((data: Uint8Array) => {
            if (typeof data === 'string') throw new TypeError('not an array');
            return '';
          }) as never,
        }),
      ),
    );
    assert.ok(
      await problemOf(
        'webrtc-polyfill (stand-in)',
        withStandIn({ webrtcPolyfill: { RTCPeerConnection: class {} } as never }),
      ),
    );
  });

  test('a probe that throws is reported, not thrown', async () => {
    const report = await checkEngineModules(
      withStandIn({
        TorrentPiece: class {
          constructor() {
            throw new Error('broken');
          }
        } as never,
      }),
    );
    assert.equal(report.ok, false);
    assert.match(report.checks.find((check) => check.name === 'torrent-piece+3.0.2')?.problem ?? '', /threw: broken/);
  });
});
