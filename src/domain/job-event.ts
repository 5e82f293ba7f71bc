import type { Job } from './job.js';

/** What can happen to a job, as GET /events and the service's listeners tell it. */
export const JOB_EVENT_TYPES = [
  'added',
  'updated',
  'queued',
  'started',
  'progress',
  /** No data arrived for a while; the job is `downloading` again (in a `progress` event) once some does. */
  'stalled',
  'paused',
  'resumed',
  'completed',
  'seeding_stopped',
  'error',
  'files_missing',
  'cancelled',
] as const;
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];

/** One thing that happened to one job. `id` increases by one per event for the life of the process. */
export interface JobEvent {
  id: number;
  type: JobEventType;
  job: Job;
  at: string;
}
