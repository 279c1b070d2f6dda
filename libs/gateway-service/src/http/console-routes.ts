// The web console (static files built by libs/console, at /console/) and the HTTP API's documentation page (Swagger
// UI over the OpenAPI document, at /docs). Both are served from local files: nothing is loaded from a CDN.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync } from 'fastify';
import { HttpError } from './http-error.js';

/** Where the console's build output is: libs/console/dist, found through the workspace package. */
export function consoleRoot(): string | undefined {
  try {
    const root = join(dirname(createRequire(import.meta.url).resolve('@sluice/console/package.json')), 'dist');
    return existsSync(join(root, 'index.html')) ? root : undefined;
  } catch {
    return undefined;
  }
}

export const consoleRoutes: FastifyPluginAsync = async (app) => {
  if (!app.cluster.config.consoleEnabled) return;
  const root = consoleRoot();
  if (!root) {
    // A checkout whose console was not built (e.g. only the gateway's TypeScript was compiled): say how to build it.
    app.get('/console/*', { schema: { hide: true } }, async () => {
      throw new HttpError(503, 50301, 'CONSOLE_NOT_BUILT', 'the web console is not built: run `npx nx run @sluice/console:build`');
    });
  }
  // Relative asset URLs need the trailing slash.
  app.get('/console', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/console/'));
  if (!root) return;
  await app.register(fastifyStatic, {
    root,
    prefix: '/console/',
    index: ['index.html'],
    cacheControl: false,
    // File names under assets/ carry a content hash (Vite): cache them for good; the page itself is always revalidated.
    setHeaders: (res, path) => res.setHeader('cache-control', path.startsWith(join(root, 'assets')) ? 'public, max-age=31536000, immutable' : 'no-cache'),
  });
};

export const docsRoutes: FastifyPluginAsync = async (app) => {
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { validatorUrl: null, deepLinking: true, docExpansion: 'list', tryItOutEnabled: false },
    // No top bar: it shows another project's logo and a box to explore other documents, neither of use here.
    theme: { title: 'Sluice HTTP API', css: [{ filename: 'sluice.css', content: '.swagger-ui .topbar { display: none }' }] },
  });
};
