import type { FastifyInstance } from 'fastify';
import type { DownloadServiceApi } from '../../service/service-types.js';
import { routeSchema } from '../contract.js';

/** GET /health: no token, so supervisors and UIs can tell "not running" from "wrong token". */
export async function healthRoutes(app: FastifyInstance, options: { service: DownloadServiceApi }): Promise<void> {
  app.get('/health', { config: { public: true }, schema: routeSchema('get', '/health') }, (_request, reply) => {
    const { ok, activeDownloads, queued } = options.service.health();
    return reply.code(ok ? 200 : 503).send({ ok, activeDownloads, queued });
  });
}
