/**
 * The engine's warnings (a tracker that cannot be reached or refuses the announce, a peer that
 * sends nonsense) are routine on real swarms and the job carries on, but they say why a download
 * finds no peers. They go to the driver's `onWarning` hook, thinned out: a tracker fails the same
 * way on every announce, and a swarm can produce many different warnings a second.
 */

export interface WarningThrottleOptions {
  /** The same warning of the same job is logged again after this long at the earliest (default 10 min). */
  repeatAfterMs?: number;
  /** At most this many warnings are logged per window, all jobs together (default 20 per minute). */
  maxPerWindow?: number;
  windowMs?: number;
  /** Distinct warnings remembered (the oldest is forgotten first; default 1000). */
  maxRemembered?: number;
  now?: () => number;
}

/** Longest warning text logged; a tracker's failure reason is the remote's text, of any length. */
const MAX_MESSAGE_LENGTH = 300;

export class WarningThrottle {
  readonly #repeatAfterMs: number;
  readonly #maxPerWindow: number;
  readonly #windowMs: number;
  readonly #maxRemembered: number;
  readonly #now: () => number;
  /** Per job and text: when it was last logged, and how often it came since without being logged. */
  readonly #seen = new Map<string, { loggedAt: number; repeats: number }>();
  #windowStart = Number.NEGATIVE_INFINITY;
  #inWindow = 0;
  /** Warnings left out because the window's budget was spent; said with the next one logged. */
  #dropped = 0;

  constructor(options: WarningThrottleOptions = {}) {
    this.#repeatAfterMs = options.repeatAfterMs ?? 10 * 60_000;
    this.#maxPerWindow = options.maxPerWindow ?? 20;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#maxRemembered = options.maxRemembered ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** The line to log for this warning of job `jobId`, or undefined when it is to be left out. */
  admit(jobId: string, warning: unknown): string | undefined {
    const text = warningText(warning);
    const key = `${jobId}\u0000${text}`;
    const now = this.#now();
    const seen = this.#seen.get(key);
    if (seen !== undefined && now - seen.loggedAt < this.#repeatAfterMs) {
      seen.repeats += 1;
      return undefined;
    }
    if (now - this.#windowStart >= this.#windowMs) {
      this.#windowStart = now;
      this.#inWindow = 0;
    }
    if (this.#inWindow >= this.#maxPerWindow) {
      this.#dropped += 1;
      return undefined;
    }
    this.#inWindow += 1;
    this.#remember(key, now);
    const repeats = seen === undefined || seen.repeats === 0 ? '' : ` (${seen.repeats} more times since it was logged)`;
    const dropped = this.#dropped === 0 ? '' : ` [${this.#dropped} other engine warnings were not logged]`;
    this.#dropped = 0;
    return `Job ${jobId}: ${text}${repeats}${dropped}`;
  }

  #remember(key: string, now: number): void {
    // Re-inserted, so the Map's order is the order of last logging: the oldest goes first.
    this.#seen.delete(key);
    this.#seen.set(key, { loggedAt: now, repeats: 0 });
    while (this.#seen.size > this.#maxRemembered) {
      const oldest = this.#seen.keys().next().value;
      if (oldest === undefined) break;
      this.#seen.delete(oldest);
    }
  }
}

/** The warning with its causes ("fetch failed: connect ECONNREFUSED 127.0.0.1:6969"), on one line. */
function warningText(warning: unknown): string {
  const parts: string[] = [];
  let current: unknown = warning;
  for (let depth = 0; current instanceof Error && depth < 4; depth += 1) {
    if (current.message !== '' && !parts.includes(current.message)) parts.push(current.message);
    current = current.cause;
  }
  if (parts.length === 0) parts.push(String(warning));
  const text = parts.join(': ').replace(/\s+/g, ' ').trim();
  return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH)}…` : text;
}
