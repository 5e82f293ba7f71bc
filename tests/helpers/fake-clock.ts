import type { MockClock } from '../../src/downloaders/mock-downloader.js';

/** Fires intervals only when the test advances time, so nothing ever waits for real time. */
export class FakeClock implements MockClock {
  time = Date.UTC(2024, 0, 1);
  #nextId = 1;
  readonly intervals = new Map<number, { callback: () => void; ms: number; due: number }>();

  setInterval(callback: () => void, ms: number): number {
    const id = this.#nextId++;
    this.intervals.set(id, { callback, ms, due: this.time + ms });
    return id;
  }

  clearInterval(handle: unknown): void {
    if (typeof handle === 'number') this.intervals.delete(handle);
  }

  now(): number {
    return this.time;
  }

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: [number, { callback: () => void; ms: number; due: number }] | undefined;
      for (const entry of this.intervals) if (!next || entry[1].due < next[1].due) next = entry;
      if (!next || next[1].due > end) break;
      this.time = next[1].due;
      next[1].due += next[1].ms;
      next[1].callback();
    }
    this.time = end;
  }
}
