/**
 * Which web pages may use the Pod. Browsers send `Origin` on every cross-origin POST, even a
 * "simple" text/plain one that needs no preflight, and CORS headers only hide the answer after the
 * request has run. So a request naming an origin that is not allowed is refused before anything
 * runs (spec §1 CORS). Clients outside a browser send no `Origin` and are not affected.
 */
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isLoopback, type PodConfig } from '../config.js';

/** `scheme://host[:port]` exactly as browsers write it (lower case, default port dropped), or undefined. */
export function normalizeOrigin(text: string): string | undefined {
  try {
    const url = new URL(text);
    // An origin has no path, query or credentials: a value with any is a mistake, not an origin.
    const originOnly = url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
    return /^https?:$/.test(url.protocol) && originOnly ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/** A URL's hostname without the brackets of an IPv6 address. */
const bare = (hostname: string) => hostname.replace(/^\[|\]$/g, '');

/**
 * Allowed: loopback pages (any port), the Pod's own origin, and `--cors-origins`. The own origin
 * counts only when the Host names an IP address or the address the Pod listens on: a Host that is
 * any other name may be a DNS-rebinding page that points its own name at the Pod.
 */
function originAllowed(
  origin: string,
  request: FastifyRequest,
  config: Pick<PodConfig, 'corsOrigins' | 'host' | 'tls'>,
): boolean {
  if (config.corsOrigins === '*') return true;
  const normalized = normalizeOrigin(origin);
  if (!normalized) return false;
  const { hostname } = new URL(normalized);
  if (isLoopback(bare(hostname))) return true;
  if (config.corsOrigins.includes(normalized)) return true;
  const host = request.headers.host ?? '';
  const hostName = host.replace(/:\d+$/, '');
  const ownName = isIP(bare(hostName)) !== 0 || hostName.toLowerCase() === config.host.toLowerCase();
  return ownName && normalizeOrigin(`${config.tls ? 'https' : 'http'}://${host}`) === normalized;
}

/** onRequest hook: a disallowed `Origin` (including `null`, from sandboxed frames and file://) gets 403 and no CORS headers. */
export function refuseForeignOrigins(config: Pick<PodConfig, 'corsOrigins' | 'host' | 'tls'>) {
  return async function refuseForeignOrigin(request: FastifyRequest, reply: FastifyReply) {
    const origin = request.headers.origin;
    if (origin === undefined || originAllowed(origin, request, config)) return;
    const shown = normalizeOrigin(origin) ?? 'this origin';
    return reply
      .status(403)
      .type('application/json; charset=utf-8')
      .send({
        error: 'Forbidden',
        message: `requests from web pages at ${shown} are refused; to let such a page use the Pod, start it with --cors-origins ${shown === 'this origin' ? '<origin>' : shown}`,
      });
  };
}
