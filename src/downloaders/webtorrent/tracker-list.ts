/**
 * A running torrent's trackers as people see them in qBittorrent or Transmission (URL, status, last
 * and next announce, seeders and leechers), and changing the list while it runs.
 *
 * The figures come from bittorrent-tracker's tracker objects, which this repository's patch makes
 * keep them (patches/bittorrent-tracker+11.2.3.patch: `lastAnnounceAt`, `lastError`, `intervalMs`,
 * `intervalStartedAt`, `retryAt`, `seeders`, `leechers`), and from its client's `update` events. A new
 * list is given to torrent-discovery the way it changes ports itself (`updatePort`): the tracker
 * client is stopped (a `stopped` announce to the old trackers) and made again on the new list.
 */
import type { EventEmitter } from 'node:events';
import type { JobTracker } from '../../domain/job.js';
import type { Torrent } from '../../engine/bittorrent-engine.js';

interface TrackerObject {
  announceUrl: string;
  lastAnnounceAt?: number | null;
  lastError?: string | null;
  intervalMs?: number | null;
  intervalStartedAt?: number | null;
  retryAt?: number | null;
  seeders?: number | null;
  leechers?: number | null;
}

interface TrackerClient extends EventEmitter {
  _trackers?: TrackerObject[];
  stop(): void;
  destroy(callback?: () => void): void;
}

interface Discovery {
  destroyed?: boolean;
  tracker: TrackerClient | null;
  _announce: string[];
  _createTracker(): TrackerClient;
}

interface TrackerUpdate {
  announce?: string;
  complete?: number;
  incomplete?: number;
}

/** bittorrent-tracker drops a URL's trailing '/': the same URL both ways. */
export function sameTrackerUrl(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

function discoveryOf(torrent: Torrent): Discovery | undefined {
  const discovery = (torrent as unknown as { discovery?: Discovery | null }).discovery;
  return discovery === null || discovery?.destroyed === true ? undefined : discovery;
}

/** The torrent's tracker list (WebTorrent keeps it as `announce`; its types leave it out). */
function announceOf(torrent: Torrent): string[] {
  const list = (torrent as unknown as { announce?: unknown }).announce;
  return Array.isArray(list) ? list.filter((url): url is string => typeof url === 'string') : [];
}

function setAnnounce(torrent: Torrent, list: string[]): void {
  (torrent as unknown as { announce: string[] }).announce = list;
}

const iso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

export class TorrentTrackers {
  /** Seeders and leechers each tracker last reported, by URL. */
  private readonly counts = new Map<string, { seeders: number | null; leechers: number | null }>();
  private followed: TrackerClient | undefined;
  /** Counts list changes: only the last one's tracker client is made. */
  private generation = 0;
  private readonly onUpdate = (update: TrackerUpdate) => {
    if (typeof update.announce !== 'string') return;
    this.counts.set(sameTrackerUrl(update.announce), {
      seeders: countOf(update.complete),
      leechers: countOf(update.incomplete),
    });
  };

  constructor(
    private readonly torrent: Torrent,
    /** The URLs the user added (the rest came with the torrent). */
    private readonly added: () => ReadonlySet<string>,
  ) {}

  /** Leaves out `removed` before the engine first announces (call from the torrent's `infoHash` event). */
  static filterBeforeStart(torrent: Torrent, removed: ReadonlySet<string>): void {
    if (removed.size === 0) return;
    const wanted = new Set([...removed].map(sameTrackerUrl));
    setAnnounce(
      torrent,
      announceOf(torrent).filter((url) => !wanted.has(sameTrackerUrl(url))),
    );
  }

  list(now = Date.now()): JobTracker[] {
    this.follow();
    const discovery = discoveryOf(this.torrent);
    const objects = new Map<string, TrackerObject>();
    for (const tracker of discovery?.tracker?._trackers ?? [])
      objects.set(sameTrackerUrl(tracker.announceUrl), tracker);
    const added = new Set([...this.added()].map(sameTrackerUrl));
    const seen = new Set<string>();
    const list: JobTracker[] = [];
    for (const url of announceOf(this.torrent)) {
      const key = sameTrackerUrl(url);
      if (seen.has(key)) continue;
      seen.add(key);
      const tracker = objects.get(key);
      const counts = this.counts.get(key);
      const status =
        tracker === undefined
          ? discovery?.tracker === undefined || discovery.tracker === null
            ? 'contacting'
            : 'error'
          : typeof tracker.lastError === 'string'
            ? 'error'
            : typeof tracker.lastAnnounceAt === 'number'
              ? 'working'
              : 'contacting';
      const message =
        tracker === undefined
          ? status === 'error'
            ? 'This engine does not use this kind of tracker.'
            : null
          : (tracker.lastError ?? null);
      list.push({
        url,
        origin: added.has(key) ? 'added' : 'torrent',
        status,
        message,
        lastAnnounce: iso(tracker?.lastAnnounceAt),
        nextAnnounce: iso(tracker === undefined ? null : nextAnnounceOf(tracker, now)),
        seeders: countOf(tracker?.seeders) ?? counts?.seeders ?? null,
        leechers: countOf(tracker?.leechers) ?? counts?.leechers ?? null,
      });
    }
    return list;
  }

  /** Announces to `urls` from now on (the torrent's own list is replaced). */
  replace(urls: readonly string[]): void {
    const list = [...new Set(urls)];
    setAnnounce(this.torrent, list);
    const discovery = discoveryOf(this.torrent);
    // Not announcing yet: the engine starts with `torrent.announce`.
    if (discovery === undefined) return;
    discovery._announce = list;
    const old = discovery.tracker;
    this.generation += 1;
    const generation = this.generation;
    const make = () => {
      // A later change made its own client meanwhile (or the torrent is gone): this one is not wanted.
      if (discovery.destroyed === true || generation !== this.generation) return;
      discovery.tracker = discovery._createTracker();
      this.follow();
    };
    if (old === null || old === undefined) {
      make();
      return;
    }
    old.removeListener('update', this.onUpdate);
    this.followed = undefined;
    // No client until the new one is made: a destroyed client never calls back a second destroy,
    // so the torrent's own destroy (discovery.destroy) must not find this one.
    discovery.tracker = null;
    old.stop();
    old.destroy(make);
  }

  /** Listens to the tracker client's answers (it is made again when the list changes). */
  private follow(): void {
    const client = discoveryOf(this.torrent)?.tracker ?? undefined;
    if (client === undefined || client === this.followed) return;
    this.followed?.removeListener('update', this.onUpdate);
    client.on('update', this.onUpdate);
    this.followed = client;
  }

  /** Stops listening (the torrent leaves the engine). */
  close(): void {
    this.followed?.removeListener('update', this.onUpdate);
    this.followed = undefined;
  }
}

function countOf(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

function nextAnnounceOf(tracker: TrackerObject, now: number): number | null {
  if (typeof tracker.retryAt === 'number') return tracker.retryAt;
  const every = tracker.intervalMs;
  const since = tracker.intervalStartedAt;
  if (typeof every !== 'number' || every <= 0 || typeof since !== 'number') return null;
  const ticks = Math.max(1, Math.ceil((now - since) / every));
  return since + ticks * every;
}
