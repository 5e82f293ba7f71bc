import type { Job } from '../domain/job.js';
import type { JobEvent, JobEventType } from '../domain/job-event.js';

/**
 * The recent job events, numbered, so a client that reconnects (SSE `Last-Event-ID`) gets what
 * it missed. Bounded: when the gap is larger than what is kept, the caller must re-read state.
 */
export class EventLog {
  private readonly events: JobEvent[] = [];
  private nextId: number;
  private readonly firstId: number;

  /**
   * Ids start above every id an earlier run of the server can have issued: at the start time in
   * microseconds (a run would need more than a thousand events per millisecond since it started
   * to reach the next run's first id). A client's `Last-Event-ID` from before a restart is then
   * older than anything kept, and it gets `resync`, never another run's events under its ids.
   */
  constructor(
    private readonly capacity = 2_000,
    startedAtMs = Date.now(),
  ) {
    this.nextId = Math.floor(startedAtMs) * 1_000 + 1;
    this.firstId = this.nextId;
  }

  append(type: JobEventType, job: Job): JobEvent {
    const event: JobEvent = { id: this.nextId++, type, job, at: new Date().toISOString() };
    this.events.push(event);
    if (this.events.length > this.capacity) this.events.splice(0, this.events.length - this.capacity);
    return event;
  }

  /**
   * Events with an id above `lastEventId` (0: from the start of this run); undefined when some are
   * gone or the id is from another run.
   */
  since(lastEventId: number): JobEvent[] | undefined {
    if (lastEventId === 0) return this.since(this.firstId - 1);
    const lastIssued = this.nextId - 1;
    if (!Number.isSafeInteger(lastEventId) || lastEventId < 0 || lastEventId > lastIssued) return undefined;
    if (lastEventId === lastIssued) return [];
    const oldest = this.events[0]?.id ?? this.nextId;
    if (lastEventId < oldest - 1) return undefined;
    return this.events.slice(lastEventId - oldest + 1);
  }
}
