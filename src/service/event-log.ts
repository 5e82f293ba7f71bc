import type { Job } from '../domain/job.js';
import type { JobEvent, JobEventType } from '../domain/job-event.js';

/**
 * The recent job events, numbered, so a client that reconnects (SSE `Last-Event-ID`) gets what
 * it missed. Bounded: when the gap is larger than what is kept, the caller must re-read state.
 */
export class EventLog {
  private readonly events: JobEvent[] = [];
  private nextId = 1;

  constructor(private readonly capacity = 2_000) {}

  append(type: JobEventType, job: Job): JobEvent {
    const event: JobEvent = { id: this.nextId++, type, job, at: new Date().toISOString() };
    this.events.push(event);
    if (this.events.length > this.capacity) this.events.splice(0, this.events.length - this.capacity);
    return event;
  }

  /** Events with an id above `lastEventId`; undefined when some are gone or the id is from another run. */
  since(lastEventId: number): JobEvent[] | undefined {
    const lastIssued = this.nextId - 1;
    if (!Number.isInteger(lastEventId) || lastEventId < 0 || lastEventId > lastIssued) return undefined;
    if (lastEventId === lastIssued) return [];
    const oldest = this.events[0]?.id ?? this.nextId;
    if (lastEventId < oldest - 1) return undefined;
    return this.events.slice(lastEventId - oldest + 1);
  }
}
