/**
 * The owner's web app (packages/app), served on the API's own origin so it needs no CORS: `GET /`
 * answers a browser (which asks for HTML) with the app, and everyone else with the Pod's JSON
 * identity, as before (clients use `GET /` as a connection test). Assets have hashed names and are
 * cached for good; the page itself is revalidated, under a Content-Security-Policy that lets it load
 * and connect to nothing but this origin.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';

/** No script, style, font or connection from another origin; no inline script; no framing. */
export const APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE_HEADERS = {
  'content-security-policy': APP_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** The built app's folder: `--app-dir`, else @pod/app's build when that package is installed, else none. */
export function findAppDir(configured: string | undefined): string | undefined {
  if (configured !== undefined) return configured;
  try {
    const appPackage = createRequire(import.meta.url).resolve('@pod/app/package.json');
    const built = join(dirname(appPackage), 'dist', 'www');
    return existsSync(join(built, 'index.html')) ? built : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the request prefers HTML to JSON, as a browser navigating to the page does. */
const wantsHtml = (request: FastifyRequest) => {
  const accept = request.headers.accept ?? '';
  return accept.includes('text/html') && !accept.startsWith('application/json');
};

export const webApp: FastifyPluginAsync<{ appDir: string | undefined; identity: object }> = async (
  app,
  { appDir, identity },
) => {
  const page = appDir === undefined ? undefined : readFileSync(join(appDir, 'index.html'));
  app.get('/', async (request, reply) => {
    if (!page || !wantsHtml(request)) return identity;
    return reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(page);
  });
  if (appDir === undefined) return;
  // The service worker (the app offline), at the root so that it may serve the page; revalidated as the page is.
  const worker = join(appDir, 'sw.js');
  if (existsSync(worker)) {
    const script = readFileSync(worker);
    app.get('/sw.js', async (_request, reply) =>
      reply.headers(PAGE_HEADERS).type('text/javascript; charset=utf-8').send(script),
    );
  }
  await app.register(fastifyStatic, {
    root: join(appDir, 'assets'),
    prefix: '/assets/',
    index: false,
    immutable: true,
    maxAge: '365d',
    setHeaders: (reply) => reply.header('x-content-type-options', 'nosniff'),
  });
};
