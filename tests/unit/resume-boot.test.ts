/**
 * Resume data saved without an fsync must not be trusted after a reboot, on every platform.
 * Linux names each boot; macOS and Windows do not, so there the boot is told by when it began
 * (the wall clock minus the uptime). The clocks and uptimes here are injected.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { captureResumeData, resumeDataStillValid } from '../../src/service/resume-data.js';
import { BOOT_START_TOLERANCE_MS, type BootProbe, currentBoot, sameBoot } from '../../src/storage/boot-identity.js';
import { tempDir } from '../helpers/wait.js';

const T = Date.UTC(2026, 0, 10, 12);
const HOUR = 3_600_000;

/** A machine without /proc's boot id (macOS, Windows) at wall time `now`, up for `uptimeMs`. */
function noBootId(now: number, uptimeMs: number): BootProbe {
  return { bootId: () => undefined, now: () => now, uptimeSeconds: () => uptimeMs / 1000 };
}

describe('telling boots apart', () => {
  test('without a boot id, a boot is known by when it began: the wall clock minus the uptime', () => {
    assert.deepEqual(currentBoot(noBootId(T, 5 * HOUR)), { startedAtMs: T - 5 * HOUR });
  });

  test('an hour later with an hour more uptime is the same boot; a short uptime is a new one', () => {
    const saved = currentBoot(noBootId(T, 5 * HOUR));
    assert.equal(sameBoot(saved, currentBoot(noBootId(T + HOUR, 6 * HOUR))), true);
    assert.equal(sameBoot(saved, currentBoot(noBootId(T + HOUR, 2 * 60_000))), false, 'rebooted 2 minutes ago');
    // A reboot right after the save: the new boot began seconds after the old one's save.
    assert.equal(sameBoot(saved, currentBoot(noBootId(T + 30_000, 10_000))), false);
  });

  test('whole-second uptimes and a slewed clock stay the same boot, within the tolerance', () => {
    const saved = currentBoot(noBootId(T + 999, 5 * HOUR));
    assert.equal(sameBoot(saved, currentBoot(noBootId(T + HOUR, 6 * HOUR))), true);
    assert.equal(sameBoot(saved, { startedAtMs: T - 5 * HOUR + BOOT_START_TOLERANCE_MS + 1_000 }), false);
  });

  test("Linux's boot id decides where both sides have one", () => {
    const linux = (id: string, now: number, uptimeMs: number): BootProbe => ({
      ...noBootId(now, uptimeMs),
      bootId: () => id,
    });
    assert.equal(sameBoot(currentBoot(linux('a', T, HOUR)), currentBoot(linux('a', T + 9 * HOUR, HOUR))), true);
    assert.equal(sameBoot(currentBoot(linux('a', T, HOUR)), currentBoot(linux('b', T + HOUR, 2 * HOUR))), false);
    // Saved where there is no id (or by an older version): the start times decide.
    assert.equal(sameBoot(currentBoot(noBootId(T, HOUR)), currentBoot(linux('b', T + HOUR, 10_000))), false);
    assert.equal(sameBoot({}, currentBoot(linux('b', T, HOUR))), undefined);
  });
});

describe('resume data across a reboot, on a platform without a boot id', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  const files = [{ path: 'film.mkv', length: 1000 }];
  const state = { bitfield: new Uint8Array([0b1110_0000]), torrentFile: new Uint8Array([1]) };

  before(async () => {
    work = await tempDir();
    writeFileSync(path.join(work.dir, 'film.mkv'), Buffer.alloc(600));
  });
  after(() => work.cleanup());

  const savedIn = (boot: BootProbe, synced: boolean) =>
    captureResumeData(state, work.dir, files, { synced, boot: currentBoot(boot) });

  test('an unsynced bitfield saved before a reboot is re-checked', () => {
    const saved = savedIn(noBootId(T, 5 * HOUR), false);
    const check = resumeDataStillValid(saved, work.dir, currentBoot(noBootId(T + HOUR, 60_000)));
    assert.equal(check.valid, false);
    assert.match(check.reason ?? '', /restarted/);
  });

  test('in the same boot it is trusted', () => {
    const saved = savedIn(noBootId(T, 5 * HOUR), false);
    assert.deepEqual(resumeDataStillValid(saved, work.dir, currentBoot(noBootId(T + HOUR, 6 * HOUR))), {
      valid: true,
    });
  });

  test('a synced bitfield holds across the reboot', () => {
    const saved = savedIn(noBootId(T, 5 * HOUR), true);
    assert.equal(resumeDataStillValid(saved, work.dir, currentBoot(noBootId(T + HOUR, 60_000))).valid, true);
  });

  test('data from a version that could not tell its boot (no id, no start) is re-checked unless synced', () => {
    const legacy = { ...savedIn(noBootId(T, HOUR), false), boot: {} };
    assert.equal(resumeDataStillValid(legacy, work.dir, currentBoot(noBootId(T + 1, HOUR))).valid, false);
    assert.equal(
      resumeDataStillValid({ ...legacy, synced: true }, work.dir, currentBoot(noBootId(T + 1, HOUR))).valid,
      true,
    );
  });
});
