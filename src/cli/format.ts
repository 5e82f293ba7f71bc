/**
 * Numbers and jobs as people read them: sizes in IEC units, speeds, ETAs, ratings, short texts,
 * aligned tables. Text that came from a server or a torrent goes through terminalSafe here.
 */
import type { Job } from '../client/index.js';
import { terminalSafe } from './terminal-text.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '-';
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

export function formatSpeed(bytesPerSecond: number): string {
  return bytesPerSecond > 0 ? `${formatBytes(bytesPerSecond)}/s` : '-';
}

export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '-';
  const total = Math.max(0, Math.round(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  if (hours > 0) return `${hours}h${String(minutes).padStart(2, '0')}m`;
  if (minutes > 0) return `${minutes}m${String(rest).padStart(2, '0')}s`;
  return `${rest}s`;
}

export function formatPercent(fraction: number): string {
  // 99.96 % must not show as 100.0 % before the job is really complete.
  const tenths = Math.floor(Math.max(0, Math.min(1, fraction)) * 1000);
  return `${(tenths / 10).toFixed(1)}%`;
}

export function formatPeers(count: number): string {
  return `${count} ${count === 1 ? 'peer' : 'peers'}`;
}

/** A TMDB rating (0-10) with one decimal; `-` while nobody has voted. */
export function formatRating(rating: number | null | undefined): string {
  return rating === null || rating === undefined || !Number.isFinite(rating) ? '-' : rating.toFixed(1);
}

/**
 * Text as one line of at most `max` characters: whitespace collapsed, other controls made visible
 * (terminalSafe), and when longer, cut at the last word that fits with an ellipsis. `-` when there
 * is no text.
 */
export function shortenText(text: string | null | undefined, max: number): string {
  const line = terminalSafe((text ?? '').replace(/\s+/g, ' ').trim());
  // Code points, so that a cut never splits a character in two.
  const chars = Array.from(line);
  if (chars.length === 0) return '-';
  if (chars.length <= max) return line;
  const cut = chars.slice(0, Math.max(1, max - 1)).join('');
  const space = cut.lastIndexOf(' ');
  const words = space > cut.length / 2 ? cut.slice(0, space) : cut;
  return `${words.replace(/[\s,;:.–—-]+$/u, '')}…`;
}

/** Whether the figures (speed, peers, ETA) mean anything in this state. */
export function isTransferring(job: Job): boolean {
  return job.status === 'downloading' || job.status === 'verifying' || job.status === 'stalled';
}

/** One line about a job, for logs and terminals that are not TTYs. No control characters. */
export function progressLine(job: Job): string {
  const { progress } = job;
  const parts = [`${job.id}: ${job.status}`, formatPercent(progress.fraction)];
  if (progress.bytesTotal !== null)
    parts.push(`${formatBytes(progress.bytesDone)} of ${formatBytes(progress.bytesTotal)}`);
  if (isTransferring(job)) {
    parts.push(`down ${formatSpeed(progress.downloadSpeed)}`, formatPeers(progress.peers));
    parts.push(`ETA ${formatEta(progress.etaSeconds)}`);
  }
  // The id and the status come from the server.
  return terminalSafe(parts.join(', '));
}

export interface Column<Row> {
  header: string;
  /** The cell's text; control characters in it are shown as escapes (terminalSafe). */
  value(row: Row): string;
  /** Colours the cell's text once it is cut to width (so escapes of our own do not count as width). */
  style?(text: string, row: Row): string;
  align?: 'left' | 'right';
  /** The one column that gives up width when the terminal is narrow. */
  shrink?: boolean;
}

/** Width in code points (not UTF-16 units), so that a cut never splits a character in two. */
function widthOf(text: string): number {
  return Array.from(text).length;
}

/**
 * A plain-text table: a header row, columns two spaces apart, no borders (easy to grep and cut).
 * Every cell is one line: a name cannot add a row, move a column or send a control sequence.
 */
export function renderTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[], maxWidth?: number): string {
  const cells = rows.map((row) => columns.map((column) => terminalSafe(column.value(row))));
  const headers = columns.map((column) => terminalSafe(column.header));
  const widths = columns.map((_column, index) =>
    Math.max(widthOf(headers[index] ?? ''), ...cells.map((line) => widthOf(line[index] ?? ''))),
  );
  if (maxWidth !== undefined) {
    const shrinkIndex = columns.findIndex((column) => column.shrink);
    const total = widths.reduce((sum, width) => sum + width, 0) + 2 * (columns.length - 1);
    const shrinkWidth = widths[shrinkIndex];
    if (shrinkIndex >= 0 && shrinkWidth !== undefined && total > maxWidth) {
      const header = headers[shrinkIndex];
      widths[shrinkIndex] = Math.max(header === undefined ? 4 : widthOf(header), shrinkWidth - (total - maxWidth), 8);
    }
  }
  const line = (values: readonly string[], row?: Row): string =>
    values
      .map((value, index) => {
        const width = widths[index] ?? 0;
        const chars = Array.from(value);
        const text = chars.length > width ? `${chars.slice(0, Math.max(0, width - 1)).join('')}…` : value;
        const padding = ' '.repeat(Math.max(0, width - widthOf(text)));
        const column = columns[index];
        const shown = row === undefined || column?.style === undefined ? text : column.style(text, row);
        return column?.align === 'right' ? `${padding}${shown}` : `${shown}${padding}`;
      })
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map((values, index) => line(values, rows[index]))].join('\n');
}
