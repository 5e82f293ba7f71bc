import type { FastifyInstance } from 'fastify';
import type { DownloadServiceApi } from '../../service/service-types.js';
import { routeSchema } from '../contract.js';

export interface HealthRoutesOptions {
  service: DownloadServiceApi;
  /** Whether movie metadata can be looked up (a TMDB key is set) and jobs are identified on their own. */
  metadata?: { readonly configured: boolean; readonly autoIdentify: boolean } | undefined;
}

/** GET /health: no token, so supervisors and UIs can tell "not running" from "wrong token". */
export async function healthRoutes(app: FastifyInstance, options: HealthRoutesOptions): Promise<void> {
  app.get('/health', { config: { public: true }, schema: routeSchema('get', '/health') }, (_request, reply) => {
    const { ok, activeDownloads, queued } = options.service.health();
    const metadata = {
      configured: options.metadata?.configured ?? false,
      autoIdentify: options.metadata?.autoIdentify ?? false,
    };
    return reply.code(ok ? 200 : 503).send({ ok, activeDownloads, queued, metadata });
  });
}
