/**
 * What an operator watches (issue 15 part 5): one prom-client registry per Pod (tests run several
 * Pods in one process, so never the global one). The parts observed expose counts through getters;
 * the registry reads them when scraped. Request labels are words of the route table only (the
 * endpoint name, the status, the API version): never a URL, an owner key or hash, or a credential.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_VERSIONS, endpoints, type LaunchStatus } from '@pod/protocol';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The counts the Pod's parts keep; read at each scrape. */
export interface MetricsSources {
  openOwners(): number;
  /** Owner connections open now, and the page cache each may hold (storage/page-cache.ts). */
  pageCacheConnections(): number;
  pageCacheShare(): number;
  feedSubscribers(): number;
  queuedRuns(): number;
  runningRuns(): number;
  /** How often runs reached each `podLaunchStatus` since the Pod started. */
  launches(): ReadonlyMap<LaunchStatus, number>;
}

/** Where a request went, in label values. */
interface RouteLabels {
  readonly endpoint: string;
  readonly version: string;
  /** The histogram's child per status: observing one hashes no labels. */
  readonly byStatus: Map<number, Histogram.Internal<RequestLabel>>;
}

type RequestLabel = 'endpoint' | 'status' | 'version';
const routeLabels = (endpoint: string, version: string): RouteLabels => ({ endpoint, version, byStatus: new Map() });

const VERSIONS: ReadonlySet<string> = new Set([...API_VERSIONS, 'v5']);

export class PodMetrics {
  readonly registry = new Registry();
  readonly #requests: Histogram<RequestLabel>;
  readonly #noRoute = routeLabels('other', 'none');
  readonly #bytes: Counter<'direction'>;
  readonly #thumbnails: Counter<'outcome'>;
  /** Labels per route pattern, worked out once: patterns come from the route table, never from a URL. */
  readonly #routes = new Map<string, RouteLabels>();
  /** Per wildcard pattern, labels per endpoint name of the protocol's table. */
  readonly #endpoints = new Map<string, Map<string, RouteLabels>>();

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.#requests = new Histogram({
      name: 'pod_http_request_duration_seconds',
      help: 'HTTP requests by endpoint name, status and API version, and how long they took (its _count counts them)',
      labelNames: ['endpoint', 'status', 'version'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    this.#bytes = new Counter({
      name: 'pod_file_bytes_total',
      help: 'Bytes of files received by uploads (direction="uploaded") and sent in full by get_file ("downloaded")',
      labelNames: ['direction'],
      registers,
    });
    for (const direction of ['uploaded', 'downloaded']) this.#bytes.inc({ direction }, 0);
    this.#thumbnails = new Counter({
      name: 'pod_thumbnails_total',
      help: 'Thumbnails served: made from their image now (outcome="made") or read as stored ("stored")',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of ['made', 'stored']) this.#thumbnails.inc({ outcome }, 0);
    gauge(
      registers,
      'pod_open_owner_databases',
      'Owner databases open now (see --max-open-owners)',
      sources.openOwners,
    );
    gauge(
      registers,
      'pod_page_cache_connections',
      'Owner database connections sharing the page-cache budget (see --page-cache)',
      sources.pageCacheConnections,
    );
    gauge(
      registers,
      'pod_page_cache_share_bytes',
      'Page cache each open owner connection may hold: the budget divided among them',
      sources.pageCacheShare,
    );
    gauge(registers, 'pod_feed_subscribers', 'Live-feed (/changes) subscriptions open now', sources.feedSubscribers);
    gauge(
      registers,
      'pod_plugin_runs_queued',
      'Plugin runs waiting for a place (podLaunchStatus queued)',
      sources.queuedRuns,
    );
    gauge(registers, 'pod_plugin_runs_running', 'Plugin runs going now', sources.runningRuns);
    new Counter({
      name: 'pod_plugin_launches_total',
      help: 'Plugin runs that reached each podLaunchStatus (a run counts once per status it reaches)',
      labelNames: ['status'],
      registers,
      collect() {
        this.reset();
        for (const [status, count] of sources.launches()) this.inc({ status }, count);
      },
    });
  }

  /** One histogram observation per request, once its response has closed (sent, or cut off). */
  observe(request: FastifyRequest, reply: FastifyReply) {
    const { endpoint, version, byStatus } = this.#labelsOf(request);
    // 499, as nginx counts it: the client left before any answer
    const status = reply.raw.headersSent ? reply.statusCode : CLIENT_CLOSED;
    const child = cached(byStatus, status, () => this.#requests.labels({ endpoint, version, status }));
    child.observe(reply.elapsedTime / 1000);
  }

  uploaded(bytes: number) {
    this.#bytes.inc({ direction: 'uploaded' }, bytes);
  }

  downloaded(bytes: number) {
    this.#bytes.inc({ direction: 'downloaded' }, bytes);
  }

  thumbnail(outcome: 'made' | 'stored') {
    this.#thumbnails.inc({ outcome });
  }

  #labelsOf(request: FastifyRequest): RouteLabels {
    const pattern = request.routeOptions.url;
    if (pattern === undefined) return this.#noRoute;
    const labels = cached(this.#routes, pattern, () => labelsOfPattern(pattern));
    // `/<v>/:owner/*`: the endpoint is the path's rest, counted only when it is one of the protocol's names
    if (labels.endpoint !== WILDCARD) return labels;
    const name = (request.params as { '*'?: string })['*'] ?? '';
    const named = cached(this.#endpoints, pattern, () => new Map<string, RouteLabels>());
    const endpoint = Object.hasOwn(endpoints, name) ? name : 'other';
    return cached(named, endpoint, () => routeLabels(endpoint, labels.version));
  }
}

const WILDCARD = '*';
const CLIENT_CLOSED = 499;

/** `/v4/:owner/upload_file/:key/:sha256` → v4, upload_file; `/v4/:owner/*` → v4, *; `/` → none, root. */
function labelsOfPattern(pattern: string): RouteLabels {
  const words = pattern.split('/').filter((segment) => segment !== '' && !segment.startsWith(':'));
  const version = VERSIONS.has(words[0] ?? '') ? (words.shift() ?? 'none') : 'none';
  return routeLabels(words[0] ?? 'root', version);
}

function cached<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

function gauge(registers: Registry[], name: string, help: string, read: () => number) {
  new Gauge({
    name,
    help,
    registers,
    collect() {
      this.set(read());
    },
  });
}
