import { EventEmitter } from 'node:events';
import type { Job } from '../domain/job.js';
import type { JobEvent, JobEventType } from '../domain/job-event.js';
import type { DownloadServiceEvents } from './download-service-api.js';
import { EventLog } from './event-log.js';

/** The service's job events: numbered and kept (see `EventLog`) for reconnecting clients, and sent to subscribers. */
export class JobEventBus {
  private readonly log = new EventLog();
  private readonly emitter = new EventEmitter<DownloadServiceEvents>();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(type: JobEventType, job: Job): void {
    const event = this.log.append(type, job);
    this.emitter.emit('job', event);
  }

  /** See `EventLog.since`. */
  since(lastEventId: number): JobEvent[] | undefined {
    return this.log.since(lastEventId);
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: (event: JobEvent) => void): () => void {
    this.emitter.on('job', listener);
    return () => this.emitter.off('job', listener);
  }
}
