/**
 * The web app at `/` (built into dist/web by `npm run build`, scripts/build-web.mjs): its page and
 * its two files, from this server, with a Content-Security-Policy that allows nothing else: no
 * inline script or style, no other origin, no framing. Public, as a page load carries no token;
 * the app then signs in (src/api/routes/auth.ts).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ChillyError } from '../../domain/errors.js';
import { routeSchema } from '../contract.js';

const FILES = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'application/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
} as const;
type WebFile = keyof typeof FILES;

export const WEB_APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** dist/web, from dist/src/api/routes (built) or src/api/routes (run from the sources). */
export function webAppFolder(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const besideBuild = path.resolve(here, '../../../web');
  // The built app has its script; the sources' web/ folder (run with tsx) has only the page's template.
  if (existsSync(path.join(besideBuild, 'app.js'))) return besideBuild;
  return path.resolve(here, '../../../dist/web');
}

export async function webAppRoutes(app: FastifyInstance, options: { folder?: string } = {}): Promise<void> {
  const folder = options.folder ?? webAppFolder();
  const cache = new Map<WebFile, Buffer>();

  async function send(reply: FastifyReply, file: WebFile): Promise<FastifyReply> {
    let body = cache.get(file);
    if (body === undefined) {
      try {
        body = await readFile(path.join(folder, file));
      } catch {
        throw new ChillyError(
          'web_app_missing',
          `The web app is not built (no ${path.join(folder, file)}): run npm run build.`,
        );
      }
      cache.set(file, body);
    }
    return reply
      .header('content-type', FILES[file])
      .header('content-security-policy', WEB_APP_CSP)
      .header('x-frame-options', 'DENY')
      .header('cross-origin-opener-policy', 'same-origin')
      .header('cross-origin-resource-policy', 'same-origin')
      .send(body);
  }

  app.get('/', { config: { public: true }, schema: routeSchema('get', '/') }, (_request, reply) =>
    send(reply, 'index.html'),
  );
  app.get<{ Params: { asset: 'app.js' | 'app.css' } }>(
    '/app/:asset',
    { config: { public: true }, schema: routeSchema('get', '/app/{asset}') },
    (request, reply) => send(reply, request.params.asset),
  );
}
