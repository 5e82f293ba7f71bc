/**
 * The contract as JSON and interactive docs (Swagger UI from the swagger-ui-dist package, served
 * by this server: no CDN, works offline). Public: they hold no user data, and a browser cannot add
 * a Bearer header to a page load. The docs' "Authorize" button takes the token for "Try it out".
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadContract, routeSchema } from '../contract.js';

type Asset = 'swagger-ui.css' | 'swagger-ui-bundle.js' | 'swagger-ui-standalone-preset.js' | 'docs-init.js';

const CONTENT_TYPES: Record<Asset, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
  'docs-init.js': 'application/javascript; charset=utf-8',
};

// The start-up script lives in its own file so the page's CSP can forbid inline scripts.
const INIT_SCRIPT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: false,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout'
  });
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Chilly Movies API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/docs-init.js"></script>
</body>
</html>
`;

// Swagger UI sets inline styles and uses data: images; everything else comes from this origin.
const DOCS_CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "script-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export async function docsRoutes(app: FastifyInstance): Promise<void> {
  const contractJson = JSON.stringify(loadContract());
  const assets = new Map<Asset, string>([['docs-init.js', INIT_SCRIPT]]);
  const distDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

  app.get(
    '/openapi.json',
    { config: { public: true }, schema: routeSchema('get', '/openapi.json') },
    (_request, reply) => reply.type('application/json; charset=utf-8').send(contractJson),
  );

  app.get('/docs', { config: { public: true }, schema: routeSchema('get', '/docs') }, (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', DOCS_CSP).send(PAGE),
  );

  app.get<{ Params: { asset: Asset } }>(
    '/docs/:asset',
    { config: { public: true }, schema: routeSchema('get', '/docs/{asset}') },
    async (request, reply) => {
      const name = request.params.asset;
      let body = assets.get(name);
      if (body === undefined) {
        // Read on first use only: most runs never open the docs. The schema's enum bounds `name`.
        body = await readFile(path.join(distDir, name), 'utf8');
        assets.set(name, body);
      }
      return reply.type(CONTENT_TYPES[name]).header('cache-control', 'public, max-age=3600').send(body);
    },
  );
}
