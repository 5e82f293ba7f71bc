/**
 * What the adapter must know about qBittorrent versions.
 *
 * qBittorrent 4.5.0 to 4.6.0 (Debian 12 ships 4.5.2) can crash with SIGSEGV in
 * `FreeDiskSpaceChecker::checked`. Each WebUI session has its own `SyncController`, which checks the
 * free disk space on a thread-pool thread when the session opens (every sign-in) and when
 * `sync/maindata` is asked 30 s or more after its last check; the checker object is deleted from the
 * main thread (`deleteLater`) while the pool thread may still be inside the signal's emission
 * (src/webui/api/synccontroller.cpp, `SyncController::invokeChecker`, release-4.5.2 to release-4.6.0).
 * Rare per check, so it shows over days of polling: qbittorrent/qBittorrent issue #19732 ("Sporadic
 * crashes since 4.5.0"). 4.6.1 has one checker for all sessions on a thread of its own (pull request
 * #19855). 4.4 and older checked on a thread of each controller's own, without the race.
 */

/** `major.minor.patch` of a version as qBittorrent reports it ("v4.5.2", "v4.6.0rc1", "5.0.0"); null if it is not one. */
export function parseQBittorrentVersion(version: string): [number, number, number] | null {
  const match = /^v?(\d{1,4})\.(\d{1,4})(?:\.(\d{1,4}))?/.exec(version.trim());
  if (match === null) return null;
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}

/**
 * Whether asking this version for `sync/maindata` risks crashing it (see above): 4.5.0 up to, not
 * including, 4.6.1. A version that cannot be read is taken for one without the flaw.
 */
export function mainDataRisksCrash(version: string): boolean {
  const parsed = parseQBittorrentVersion(version);
  if (parsed === null) return false;
  const [major, minor, patch] = parsed;
  const at = major * 1_000_000 + minor * 1_000 + patch;
  return at >= 4_005_000 && at < 4_006_001;
}
