/** Numbers as people read them: sizes, speeds, durations, percentages. */
import type { Job, JobStatus } from './api.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

export function formatSpeed(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** `45.3 %`; never `100 %` before the end. */
export function formatPercent(fraction: number): string {
  const percent = Math.min(100, Math.max(0, fraction * 100));
  const shown = percent < 100 && percent > 99.9 ? 99.9 : percent;
  return `${shown.toFixed(shown === 100 || shown === 0 ? 0 : 1)} %`;
}

/** `1 h 5 min`, `3 min 20 s`, `45 s`; `—` when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  if (hours > 0) return `${hours} h ${minutes} min`;
  if (minutes > 0) return `${minutes} min ${rest} s`;
  return `${rest} s`;
}

/** A speed limit: `200 KiB/s`, or `no limit` for 0. */
export function formatLimit(bytesPerSecond: number): string {
  return bytesPerSecond === 0 ? 'no limit' : formatSpeed(bytesPerSecond);
}

/** A moment as people read it: `15:42` today, `3 Mar, 15:42` another day. */
export function formatMoment(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (date.toDateString() === new Date().toDateString()) return time;
  return `${date.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })}, ${time}`;
}

/** `12 s ago`, `in 4 min 10 s`, `now`. */
export function formatRelative(iso: string, now = Date.now()): string {
  const seconds = (Date.parse(iso) - now) / 1000;
  if (!Number.isFinite(seconds)) return iso;
  if (Math.abs(seconds) < 1) return 'now';
  return seconds > 0 ? `in ${formatDuration(seconds)}` : `${formatDuration(-seconds)} ago`;
}

/** Media time: `1:05:03`, `4:07`. */
export function formatClock(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = String(whole % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}

const STATUS_LABELS: Record<JobStatus, string> = {
  queued: 'Queued',
  verifying: 'Checking data',
  downloading: 'Downloading',
  stalled: 'Stalled: no data arriving',
  paused: 'Paused',
  completed: 'Completed',
  error: 'Failed',
  cancelled: 'Cancelled',
  files_missing: 'Files missing',
};

export function statusLabel(status: JobStatus): string {
  return STATUS_LABELS[status] ?? status;
}

/** The status with what the job adds to it: its place in the queue, whether it still uploads. */
export function jobStatusText(job: Job): string {
  if (job.status === 'queued' && job.queuePosition !== undefined) return `Queued (number ${job.queuePosition})`;
  if (job.status === 'completed' && job.seeding?.active === true) return 'Completed, seeding';
  return statusLabel(job.status);
}

/** Seeding ratio of a finished job: uploaded ÷ size (the server's figure when it gives one). */
export function seedingRatio(job: Job): string | undefined {
  const total = job.progress.bytesTotal;
  if (job.status !== 'completed') return undefined;
  if (job.seeding !== undefined) return job.seeding.ratio.toFixed(2);
  if (total === null || total === 0) return undefined;
  return (job.progress.bytesUploaded / total).toFixed(2);
}

/** Whether the job can be paused / resumed (the server decides; this only picks the button shown). */
export function canPause(status: JobStatus): boolean {
  return status === 'queued' || status === 'verifying' || status === 'downloading' || status === 'stalled';
}

export function canResume(status: JobStatus): boolean {
  return status === 'paused' || status === 'error' || status === 'files_missing';
}

/** Whether the job is in the engine now (downloading, checking, or seeding): its peers and trackers change. */
export function isRunning(job: Job): boolean {
  const { status } = job;
  if (status === 'downloading' || status === 'stalled' || status === 'verifying') return true;
  return status === 'completed' && job.seeding?.active === true;
}
