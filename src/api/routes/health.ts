import type { FastifyInstance } from 'fastify';
import type { DownloadServiceApi } from '../../service/download-service-api.js';
import { routeSchema } from '../contract.js';

export interface HealthRoutesOptions {
  service: DownloadServiceApi;
  /** Whether movie metadata can be looked up (a TMDB key is set) and jobs are identified on their own. */
  metadata?: { readonly configured: boolean; readonly autoIdentify: boolean } | undefined;
  /** Whether the server is closing: then it is not healthy, whatever the service says. */
  isClosing?: () => boolean;
}

/** GET /health: no token, so supervisors and UIs can tell "not running" from "wrong token". */
export async function healthRoutes(app: FastifyInstance, options: HealthRoutesOptions): Promise<void> {
  app.get('/health', { config: { public: true }, schema: routeSchema('get', '/health') }, (_request, reply) => {
    const health = options.service.health();
    const { activeDownloads, queued } = health;
    const ok = health.ok && options.isClosing?.() !== true;
    const metadata = {
      configured: options.metadata?.configured ?? false,
      autoIdentify: options.metadata?.autoIdentify ?? false,
    };
    return reply.code(ok ? 200 : 503).send({ ok, activeDownloads, queued, metadata });
  });
}
