/**
 * The download routes: each one translates HTTP to one DownloadServiceApi call and back.
 * Validation comes from the contract's schemas; decisions belong to the service.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { JobStatus, QueueMove, SourceType } from '../../domain/job.js';
import type { AddJobResult, DownloadServiceApi } from '../../service/download-service-api.js';
import { routeSchema } from '../contract.js';

export interface DownloadRoutesOptions {
  service: DownloadServiceApi;
  /** Largest accepted .torrent upload, in bytes. */
  uploadLimitBytes: number;
}

interface StartBody {
  /** Optional: the service names the job after its torrent. */
  id?: string;
  sourceType: SourceType;
  sourceUrn: string;
}

interface JobIdBody {
  id: string;
}

interface UploadQuery {
  id?: string;
}

interface CancelBody extends JobIdBody {
  keepData?: boolean;
}

interface ListQuery {
  status?: JobStatus[];
  limit: number;
  offset: number;
}

const TORRENT_MEDIA_TYPES = ['application/x-bittorrent', 'application/octet-stream'];

export async function downloadRoutes(app: FastifyInstance, options: DownloadRoutesOptions): Promise<void> {
  const { service } = options;

  app.post<{ Body: StartBody }>(
    '/download/start',
    { schema: routeSchema('post', '/download/start') },
    async (request, reply) => {
      const { id, sourceType, sourceUrn } = request.body;
      return sendAdded(reply, await service.add({ id, sourceType, sourceUrn }));
    },
  );

  // Its own context, so this route parses .torrent bytes and nothing else (no JSON, no text).
  await app.register(async (upload) => {
    upload.removeAllContentTypeParsers();
    upload.addContentTypeParser(
      TORRENT_MEDIA_TYPES,
      { parseAs: 'buffer', bodyLimit: options.uploadLimitBytes },
      (_request, body, done) => done(null, body),
    );
    upload.post<{ Querystring: UploadQuery; Body: Buffer }>(
      '/download/upload',
      { schema: routeSchema('post', '/download/upload'), bodyLimit: options.uploadLimitBytes },
      async (request, reply) => {
        const torrentFile = request.body;
        return sendAdded(reply, await service.add({ id: request.query.id, sourceType: 'torrent', torrentFile }));
      },
    );
  });

  app.post<{ Body: JobIdBody }>('/download/pause', { schema: routeSchema('post', '/download/pause') }, (request) =>
    service.pause(request.body.id),
  );

  app.post<{ Body: JobIdBody }>('/download/resume', { schema: routeSchema('post', '/download/resume') }, (request) =>
    service.resume(request.body.id),
  );

  app.get<{ Params: JobIdBody }>(
    '/download/peers/:id',
    { schema: routeSchema('get', '/download/peers/{id}') },
    async (request) => ({ peers: service.peers(request.params.id) }),
  );

  app.get<{ Params: JobIdBody }>(
    '/download/trackers/:id',
    { schema: routeSchema('get', '/download/trackers/{id}') },
    async (request) => ({ trackers: await service.trackers(request.params.id) }),
  );

  app.post<{ Body: { id: string; add?: string[]; remove?: string[] } }>(
    '/download/trackers',
    { schema: routeSchema('post', '/download/trackers') },
    async (request) => {
      const { id, add, remove } = request.body;
      return { trackers: await service.changeTrackers(id, { ...(add ? { add } : {}), ...(remove ? { remove } : {}) }) };
    },
  );

  app.post<{ Body: JobIdBody }>('/download/recheck', { schema: routeSchema('post', '/download/recheck') }, (request) =>
    service.recheck(request.body.id),
  );

  app.post<{ Body: { id: string; destination: string } }>(
    '/download/move-data',
    { schema: routeSchema('post', '/download/move-data') },
    (request) => service.moveData(request.body.id, request.body.destination),
  );

  app.post<{ Body: { id: string; move: QueueMove } }>(
    '/download/queue',
    { schema: routeSchema('post', '/download/queue') },
    (request) => service.moveInQueue(request.body.id, request.body.move),
  );

  app.put<{ Body: { id: string; downloadBytesPerSecond: number; uploadBytesPerSecond: number } }>(
    '/download/limits',
    { schema: routeSchema('put', '/download/limits') },
    (request) => {
      const { id, downloadBytesPerSecond, uploadBytesPerSecond } = request.body;
      return service.setJobRateLimits(id, { downloadBytesPerSecond, uploadBytesPerSecond });
    },
  );

  app.put<{ Body: { id: string; ratio: number | null; minutes: number | null } }>(
    '/download/seeding-policy',
    { schema: routeSchema('put', '/download/seeding-policy') },
    (request) => {
      const { id, ratio, minutes } = request.body;
      return service.setSeedingPolicy(id, { ratio, minutes });
    },
  );

  app.post<{ Body: { id: string; seeding: boolean } }>(
    '/download/seeding',
    { schema: routeSchema('post', '/download/seeding') },
    (request) => service.setSeeding(request.body.id, request.body.seeding),
  );

  app.post<{ Body: CancelBody }>('/download/cancel', { schema: routeSchema('post', '/download/cancel') }, (request) => {
    const { id, keepData } = request.body;
    // Absent means "the service's default" (a finished movie is kept), not false.
    return service.cancel(id, keepData === undefined ? {} : { keepData });
  });

  app.get<{ Params: JobIdBody }>(
    '/download/status/:id',
    { schema: routeSchema('get', '/download/status/{id}') },
    async (request) => service.get(request.params.id),
  );

  app.get<{ Querystring: ListQuery }>(
    '/downloads',
    {
      schema: routeSchema('get', '/downloads'),
      // `status=paused,error` and `status=paused&status=error` mean the same; split before validation.
      preValidation: async (request) => {
        const query = request.query as { status?: unknown };
        if (query.status !== undefined) query.status = splitCommaList(query.status);
      },
    },
    async (request) => {
      const { status, limit, offset } = request.query;
      return service.list({ ...(status === undefined ? {} : { status }), limit, offset });
    },
  );
}

function sendAdded(reply: FastifyReply, result: AddJobResult): FastifyReply {
  if (!result.created) return reply.code(200).send(result.job);
  return reply
    .code(201)
    .header('location', `/download/status/${encodeURIComponent(result.job.id)}`)
    .send(result.job);
}

function splitCommaList(value: unknown): unknown {
  const items = Array.isArray(value) ? value : [value];
  return items.flatMap((item) => (typeof item === 'string' ? item.split(',').filter((part) => part !== '') : [item]));
}
