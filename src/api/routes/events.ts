/**
 * GET /events: job events as Server-Sent Events. A client that reconnects with the last id it saw
 * (`Last-Event-ID` header, or `lastEventId` in the query for polyfills) gets every later event
 * first, then the live ones, with nothing missed and nothing twice.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { JobEvent } from '../../domain/job-event.js';
import type { DownloadServiceApi } from '../../service/download-service-api.js';
import { routeSchema } from '../contract.js';

export interface EventRoutesOptions {
  service: DownloadServiceApi;
  /** Comment lines keep proxies and clients from timing the stream out (default 15 s). */
  heartbeatMs: number;
  /** A client this far behind is dropped; it reconnects with Last-Event-ID and loses nothing. */
  maxBufferedBytes: number;
}

/** How long a disconnected EventSource waits before reconnecting. */
const RETRY_MS = 2_000;

export async function eventRoutes(app: FastifyInstance, options: EventRoutesOptions): Promise<void> {
  const { service } = options;
  const open = new Set<ServerResponse>();

  // Streams never end by themselves, and the server cannot close while they are open.
  app.addHook('preClose', async () => {
    for (const response of open) response.end();
  });

  app.get<{ Headers: { 'last-event-id'?: string }; Querystring: { lastEventId?: string } }>(
    '/events',
    { schema: routeSchema('get', '/events') },
    (request, reply) => {
      const resumeFrom = request.headers['last-event-id'] ?? request.query.lastEventId;
      const response = reply.raw;
      reply.hijack();
      // Hooks have already set CORS and security headers on the reply; hijacking skips sending them.
      const headers: OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = value;
      response.writeHead(200, {
        ...headers,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // Tells a buffering reverse proxy to pass events through as they come.
        'x-accel-buffering': 'no',
      });
      response.write(`retry: ${RETRY_MS}\n\n`);
      open.add(response);

      let lastSent = resumeFrom === undefined ? 0 : Number(resumeFrom);
      let live = false;
      const early: JobEvent[] = [];

      const write = (chunk: string): void => {
        if (response.writableEnded || response.destroyed) return;
        response.write(chunk);
        if (response.writableLength > options.maxBufferedBytes) {
          request.log.info({ buffered: response.writableLength }, 'SSE client too slow; closing its stream');
          response.end();
        }
      };
      const send = (event: JobEvent): void => {
        // Replay and live delivery can overlap by a few events: ids make that harmless.
        if (event.id <= lastSent) return;
        lastSent = event.id;
        write(`id: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`);
      };

      // Subscribe before reading the backlog, so an event raised in between is not lost.
      const unsubscribe = service.subscribe((event) => {
        if (live) send(event);
        else early.push(event);
      });
      if (resumeFrom !== undefined) {
        const backlog = service.eventsSince(lastSent);
        if (backlog === undefined) {
          write(`event: resync\ndata: ${JSON.stringify({ reason: 'events_lost' })}\n\n`);
          // The old id means nothing now (e.g. the server restarted): every live event is new.
          lastSent = 0;
        } else {
          for (const event of backlog) send(event);
        }
      }
      for (const event of early) send(event);
      live = true;

      const heartbeat = setInterval(() => write(': heartbeat\n\n'), options.heartbeatMs);
      heartbeat.unref();
      let cleaned = false;
      const cleanUp = (): void => {
        if (cleaned) return;
        cleaned = true;
        clearInterval(heartbeat);
        unsubscribe();
        open.delete(response);
      };
      response.once('close', cleanUp);
      // A client that left while we were setting up will never emit 'close' again.
      if (response.destroyed) cleanUp();
    },
  );
}
