/** GET /settings: what the web app's settings page shows (secrets masked as `chilly config` does). */
import type { FastifyInstance } from 'fastify';
import type { ChillyConfig } from '../../config/chilly-config.js';
import { maskedConfig, settingValue } from '../../config/masked-config.js';
import { SETTINGS } from '../../config/settings.js';
import type { RateLimits } from '../../domain/rate-limits.js';
import type { DownloadServiceApi } from '../../service/download-service-api.js';
import { serverChecks } from '../../service/server-checks.js';
import { routeSchema } from '../contract.js';

export interface SettingsRoutesOptions {
  service: DownloadServiceApi;
  config: ChillyConfig;
  metadataConfigured: boolean;
}

export async function settingsRoutes(app: FastifyInstance, options: SettingsRoutesOptions): Promise<void> {
  app.get('/settings/limits', { schema: routeSchema('get', '/settings/limits') }, () => options.service.rateLimits());
  app.put<{ Body: RateLimits }>('/settings/limits', { schema: routeSchema('put', '/settings/limits') }, (request) =>
    options.service.setRateLimits(request.body),
  );

  app.get('/settings', { schema: routeSchema('get', '/settings') }, (_request, reply) => {
    const masked = maskedConfig(options.config);
    const settings = Object.fromEntries(SETTINGS.map((spec) => [spec.key, settingValue(masked, spec.key) ?? null]));
    const engine = options.service.engine();
    return reply.send({
      settings,
      engine: { name: engine.name, capabilities: engine.capabilities },
      checks: serverChecks({ engine, config: options.config, metadataConfigured: options.metadataConfigured }),
    });
  });
}
