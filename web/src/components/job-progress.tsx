/** A job's progress bar and figures (speeds, peers, ETA, ratio). */
import { type Job, jobName } from '../api.js';
import { formatBytes, formatDuration, formatPercent, formatSpeed, seedingRatio } from '../format.js';

export function JobProgress({ job }: { job: Job }) {
  const { fraction } = job.progress;
  return (
    <div class="progress">
      <progress max={1} value={fraction} aria-label={`${jobName(job)}: downloaded`} />
      <span class="percent">{formatPercent(fraction)}</span>
    </div>
  );
}

export function JobStats({ job }: { job: Job }) {
  const { progress, status } = job;
  const active = status === 'downloading' || status === 'stalled' || status === 'verifying';
  const ratio = seedingRatio(job);
  // A magnet's size comes with its metadata, from the first peers.
  const size = progress.bytesTotal === null ? undefined : formatBytes(progress.bytesTotal);
  return (
    <dl class="stats">
      <div>
        <dt>Size</dt>
        <dd>
          {size === undefined
            ? 'not known yet'
            : status === 'completed'
              ? size
              : `${formatBytes(progress.bytesDone)} of ${size}`}
        </dd>
      </div>
      <div>
        <dt>Down</dt>
        <dd>{formatSpeed(progress.downloadSpeed)}</dd>
      </div>
      <div>
        <dt>Up</dt>
        <dd>{formatSpeed(progress.uploadSpeed)}</dd>
      </div>
      <div>
        <dt>Peers</dt>
        <dd>{progress.peers}</dd>
      </div>
      {active && (
        <div>
          <dt>Time left</dt>
          <dd>{formatDuration(progress.etaSeconds)}</dd>
        </div>
      )}
      {ratio !== undefined && (
        <div>
          <dt>Ratio</dt>
          <dd>{ratio}</dd>
        </div>
      )}
    </dl>
  );
}
