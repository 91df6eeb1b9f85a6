/**
 * URLs as logs and error answers may show them. A database key or plugin credential can sit in any
 * segment of a malformed URL (`/upload_file/<key>`, `//`, other case, a query), so nothing of the
 * URL is kept unless it is a known word: the version, the owner as a hash prefix, the endpoint name.
 */
import { API_VERSIONS, HEX_KEY, endpoints, operatorRoutes, uploads, v5Endpoints } from '@pod/protocol';
import { ownerHash } from '../config.js';

/** Every version prefix a request may carry: the two of the v4 API, and `/v5`'s schema route. */
const VERSIONS: readonly string[] = [...API_VERSIONS, 'v5'];

const KNOWN_WORDS: ReadonlySet<string> = new Set([
  ...VERSIONS,
  ...Object.keys(v5Endpoints),
  ...Object.keys(endpoints).flatMap((name) => name.split('/')),
  ...Object.keys(uploads),
  ...Object.keys(operatorRoutes),
  'import',
  'changes',
  'version',
  'account',
  // the move routes (`/move/<owner hash>/…`)
  'move',
  'check',
  'part',
  'finish',
]);

/** `<owner:…>` with the first 16 hex digits of the owner hash, which names the owner's data folder. */
export const ownerLabel = (ownerKey: string) => `<owner:${ownerHash(ownerKey).slice(0, 16)}>`;

/** The path with every segment that is not a known word replaced (the owner's by its label), no query. */
export function loggableUrl(url: string): string {
  const [path = ''] = url.split('?');
  const segments = path.split('/');
  return segments
    .map((segment, index) => {
      if (segment === '' || KNOWN_WORDS.has(segment)) return segment;
      // `/<version>/<owner>/…`: the owner is named, but only by its hash.
      if (index === 2 && VERSIONS.includes(segments[1] ?? '') && HEX_KEY.test(segment)) return ownerLabel(segment);
      return '<redacted>';
    })
    .join('/');
}

/** What a 404 says instead of echoing the URL. */
export const ROUTES_HELP = `the API is POST /v4/account (register an owner), POST /v4/<owner key>/<endpoint> with an endpoint among ${Object.keys(endpoints).join(', ')}, changes, upload_file/<database key>/<sha256>, upload_file_b/<auth>/<sha256> and import (also under /v3), POST /v5/<owner key>/schema, and GET /, /version, /healthz, /readyz and /metrics`;
