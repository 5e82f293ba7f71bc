/**
 * Each job's trackers: the list with how each is doing (from the engine while the job runs, else
 * the torrent's own list plus the user's changes, all `stopped`), and adding or removing one. The
 * changes are kept (job_trackers) and applied every time the job starts, and at once while it runs.
 */
import { ChillyError } from '../domain/errors.js';
import type { JobTracker, SourceType, TrackerEdits } from '../domain/job.js';
import { assertCapability, type Downloader } from '../downloaders/downloader.js';
import { resolveTorrentSource } from '../downloaders/torrent-source.js';
import type { JobTrackersRepository } from '../storage/job-trackers-repository.js';
import type { StoredJob } from '../storage/jobs-repository.js';

/** Longest tracker URL accepted (real ones are well under 200 characters). */
const MAX_TRACKER_URL_LENGTH = 2048;
/** Trackers one job may have added (a torrent with more is a mistake, or an abuse). */
const MAX_ADDED_TRACKERS = 100;

export interface TrackerChange {
  add?: readonly string[];
  remove?: readonly string[];
}

export interface JobTrackerListsOptions {
  repository: JobTrackersRepository;
  driverOf: (sourceType: SourceType) => Downloader;
  isRunning: (id: string) => boolean;
}

/** A tracker URL as the engine uses it: `http(s)://` or `udp://`, else `validation_failed`. */
export function checkTrackerUrl(input: unknown): string {
  if (typeof input !== 'string' || input.trim() === '' || input.length > MAX_TRACKER_URL_LENGTH) {
    throw new ChillyError('validation_failed', `A tracker is a URL of at most ${MAX_TRACKER_URL_LENGTH} characters.`);
  }
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    throw new ChillyError(
      'validation_failed',
      `${JSON.stringify(input)} is not a tracker URL (http://, https:// or udp://).`,
    );
  }
  if (url.protocol === 'ws:' || url.protocol === 'wss:') {
    throw new ChillyError(
      'validation_failed',
      'WebSocket trackers only find browser (WebRTC) peers, which this engine does not use: give an http://, https:// or udp:// tracker.',
    );
  }
  if (!['http:', 'https:', 'udp:'].includes(url.protocol) || url.hostname === '') {
    throw new ChillyError(
      'validation_failed',
      `${JSON.stringify(input)} is not a tracker URL (http://, https:// or udp://).`,
    );
  }
  if (url.protocol === 'udp:' && url.port === '') {
    throw new ChillyError('validation_failed', `A udp:// tracker needs a port: ${JSON.stringify(input)}.`);
  }
  return input.trim();
}

const key = (url: string) => (url.endsWith('/') ? url.slice(0, -1) : url);

export class JobTrackerLists {
  constructor(private readonly options: JobTrackerListsOptions) {}

  /** What the user changed in the job's list (for the engine at start). */
  edits(id: string): TrackerEdits {
    return this.options.repository.edits(id);
  }

  /** The job's trackers: live from the engine while it runs, else its list with status `stopped`. */
  async list(stored: StoredJob): Promise<JobTracker[]> {
    const { job } = stored;
    const driver = this.options.driverOf(job.sourceType);
    assertCapability(driver, 'trackerList');
    if (this.options.isRunning(job.id)) {
      const live = driver.trackers?.(job.id);
      if (live !== undefined) return live;
    }
    const edits = this.edits(job.id);
    const removed = new Set(edits.removed.map(key));
    const added = new Set(edits.added.map(key));
    const seen = new Set<string>();
    const list: JobTracker[] = [];
    for (const url of [...(await this.ownTrackers(stored)), ...edits.added]) {
      if (removed.has(key(url)) || seen.has(key(url))) continue;
      seen.add(key(url));
      list.push({
        url,
        origin: added.has(key(url)) ? 'added' : 'torrent',
        status: 'stopped',
        message: null,
        lastAnnounce: null,
        nextAnnounce: null,
        seeders: null,
        leechers: null,
      });
    }
    return list;
  }

  /** Adds and removes trackers (kept, and applied at once while the job runs). */
  async change(stored: StoredJob, change: TrackerChange): Promise<JobTracker[]> {
    const { job } = stored;
    const driver = this.options.driverOf(job.sourceType);
    assertCapability(driver, 'trackerList');
    const toAdd = (change.add ?? []).map(checkTrackerUrl);
    const toRemove = (change.remove ?? []).map(checkTrackerUrl);
    if (toAdd.length === 0 && toRemove.length === 0) {
      throw new ChillyError('validation_failed', 'Give trackers to add or remove.');
    }
    const own = new Set((await this.ownTrackers(stored)).map(key));
    const current = this.edits(job.id);
    const added = new Map(current.added.map((url) => [key(url), url]));
    const removed = new Map(current.removed.map((url) => [key(url), url]));
    const listed = new Set([...own, ...added.keys()].filter((url) => !removed.has(url)));
    for (const url of toRemove) {
      if (!listed.has(key(url))) {
        throw new ChillyError('validation_failed', `${url} is not one of this download's trackers.`);
      }
      added.delete(key(url));
      if (own.has(key(url))) removed.set(key(url), url);
    }
    for (const url of toAdd) {
      removed.delete(key(url));
      // Kept as the user's even when the torrent seems to name it: the .torrent stored after a
      // magnet's metadata arrives is the engine's, with the trackers added so far in its list.
      added.set(key(url), url);
    }
    if (added.size > MAX_ADDED_TRACKERS) {
      throw new ChillyError('validation_failed', `At most ${MAX_ADDED_TRACKERS} added trackers per download.`);
    }
    const edits: TrackerEdits = { added: [...added.values()], removed: [...removed.values()] };
    this.options.repository.set(job.id, edits);
    if (this.options.isRunning(job.id)) driver.setTrackers?.(job.id, edits);
    return this.list(stored);
  }

  /** The trackers the torrent itself names (its .torrent, else its magnet). */
  private async ownTrackers(stored: StoredJob): Promise<string[]> {
    const { job, torrentFile } = stored;
    const source = await resolveTorrentSource(
      torrentFile === undefined
        ? { sourceType: 'torrent', sourceUrn: job.sourceUrn }
        : { sourceType: 'torrent', torrentFile },
    ).catch(() => undefined);
    if (source === undefined) return [];
    return source.kind === 'magnet' ? source.announce : (source.parsed.announce ?? []);
  }
}
