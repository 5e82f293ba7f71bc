/**
 * One torrent's speed limit in one direction: a token bucket that the engine's peer pipes pass
 * every chunk through (patches/webtorrent+2.8.5.patch: `torrent.rateLimiters.{down,up}.take`). The
 * client's own throttle limits all torrents together; this limits one, under it.
 *
 * A chunk goes at once while the bucket holds any tokens (it may go into debt by one chunk), else
 * waits in order until the debt is paid back at `rate`: over any stretch of seconds the bytes let
 * through are `rate` per second plus at most one burst.
 */

/** Tokens a bucket can save up: a quarter second of its rate, at least 64 KiB. */
function burstOf(rate: number): number {
  return Math.max(rate / 4, 64 * 1024);
}

export class TorrentRateLimiter {
  private rate: number;
  private tokens: number;
  private last = Date.now();
  private readonly waiting: { bytes: number; go: () => void }[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** `rate` in bytes per second; 0: no limit. */
  constructor(rate: number) {
    this.rate = rate;
    this.tokens = burstOf(rate);
  }

  get bytesPerSecond(): number {
    return this.rate;
  }

  setRate(rate: number): void {
    this.refill();
    this.rate = rate;
    this.tokens = Math.min(this.tokens, burstOf(rate));
    clearTimeout(this.timer);
    this.timer = undefined;
    this.drain();
  }

  /** Calls `go` once `bytes` may pass. */
  take(bytes: number, go: () => void): void {
    if (this.rate === 0) {
      go();
      return;
    }
    this.refill();
    if (this.waiting.length === 0 && this.tokens > 0) {
      this.tokens -= bytes;
      go();
      return;
    }
    this.waiting.push({ bytes, go });
    this.schedule();
  }

  /** Lets everything waiting through and stops (the torrent leaves the engine). */
  destroy(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.rate = 0;
    this.drain();
  }

  private refill(): void {
    const now = Date.now();
    if (this.rate > 0) this.tokens = Math.min(burstOf(this.rate), this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
  }

  private drain(): void {
    this.refill();
    while (this.waiting.length > 0 && (this.rate === 0 || this.tokens > 0)) {
      const next = this.waiting.shift();
      if (next === undefined) break;
      if (this.rate > 0) this.tokens -= next.bytes;
      next.go();
    }
    if (this.waiting.length > 0) this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.rate === 0) return;
    const wait = Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.rate));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, wait);
  }
}
