/** The Pod's settings: one typed object, filled from flags and environment variables by `cli.ts`. */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { OAuthProviders } from './oauth/providers.js';

export const PLUGIN_RUNNERS = ['none', 'process', 'docker', 'kubernetes'] as const;
export type PluginRunnerKind = (typeof PLUGIN_RUNNERS)[number];

export interface SmtpConfig {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
  from: string;
  /** Lets send_email work with `--owners ANY`, where anyone can invent an owner: an open relay. */
  allowAnyOwner?: boolean;
  /** Recipients (after address parsing) per send_email call; default SMTP_LIMITS.maxRecipients. */
  maxRecipients?: number;
  /** Recipients per owner per hour; default SMTP_LIMITS.perHour. */
  perHour?: number;
}

export const SMTP_LIMITS = { maxRecipients: 1, perHour: 20 } as const;

/** A relay anyone can use: mail goes out for owners nobody listed. */
export const isOpenRelay = (config: Pick<PodConfig, 'smtp' | 'owners'>) =>
  config.smtp !== undefined && config.owners === 'ANY' && !config.smtp.allowAnyOwner;

export interface PodConfig {
  host: string;
  port: number;
  dataDir: string;
  /** `ANY`, or the allowed owners as SHA-256 hex of the hex-decoded owner key (spec §2). */
  owners: 'ANY' | ReadonlySet<string>;
  tls?: { cert: string; key: string };
  /** Allows `--owners ANY` and plain HTTP on an address other than loopback. */
  insecure: boolean;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  jsonBodyLimit: number;
  uploadLimit: number;
  /** Web origins allowed besides the Pod's own and loopback ones (normalized, see api/origin.ts), or `*` for every page. */
  corsOrigins: '*' | string[];
  /** An owner's database closes after this long without a request. */
  idleCloseMs: number;
  /** Limits that keep one owner from stalling or exhausting the Pod (see docs/architecture.md). */
  limits: {
    /** Open owner databases; the least recently used idle one closes to make room. */
    maxOpenOwners: number;
    /** SQLite page cache of every open owner database together, in bytes (storage/page-cache.ts). */
    pageCacheBytes: number;
    /** Live-feed subscriptions per owner, and in all. */
    maxFeedsPerOwner: number;
    maxFeeds: number;
    /** Largest answer to a search or bulk, in bytes; larger ones are refused with how to page. */
    maxAnswerBytes: number;
    /** Searches in one bulk. */
    maxBulkSearches: number;
    /** Images with more pixels get no thumbnail (422), refused before they are decoded. */
    maxThumbnailPixels: number;
    /** A JSON body must have arrived within this long (uploads are exempt; they are cut when idle). */
    bodyTimeoutMs: number;
    /**
     * An idle keep-alive connection stays open this long. 2023 clients keep connections in a session
     * and poll every 5 s without retrying a failed POST: Node's 5 s default raced them (spec 2023 §8).
     */
    keepAliveMs: number;
    /** Largest owner archive `POST /<v>/<owner>/import` accepts (larger: 413, nothing kept). */
    maxImportBytes: number;
    /** Bytes an owner's folder may hold on disk (database and blobs); 0: no quota (storage/quota.ts). */
    ownerQuotaBytes: number;
  };
  /** The built web app served at `/` (api/web-app.ts); default: `@pod/app`'s build, when installed. */
  appDir?: string;
  /** When set, `GET /metrics` needs it as a Bearer token; /healthz and /readyz stay open (they reveal nothing). */
  metricsToken?: string;
  /** The secret a source Pod must send to move an owner here (`--accept-moves-secret-file`); without it, no moves. */
  acceptMovesSecret?: string;
  smtp?: SmtpConfig;
  /** OAuth providers by platform (`--oauth-providers`): the Pod performs the exchanges, secrets stay here. */
  oauth: OAuthProviders;
  plugins: {
    runner: PluginRunnerKind;
    /** POD_FULL_ADDRESS handed to plugins; derived from host and port when not given. */
    podAddress?: string;
    /** For the process runner: image name → command line (argv). */
    commands: Record<string, string[]>;
    /** For the process runner: the folder of `<image>.json` command files it watches (`--plugin-dir`). */
    dir?: string;
    /** For the docker runner: the engine's socket (default: dockerode's, /var/run/docker.sock). */
    dockerSocket?: string;
    /**
     * For the docker runner: `host`, or a bridge network of plugins' own (created when missing),
     * firewalled so that they reach the Pod's port on its gateway and nothing else of the host.
     */
    network: string;
    memoryMiB: number;
    /** Size of the tmpfs at /tmp, the only writable place in a plugin container. */
    tmpMiB: number;
    cpus: number;
    timeoutSeconds: number;
    /** Runs going at once on this Pod, and per owner; further runs wait (`podLaunchStatus: queued`). */
    maxRuns: number;
    maxRunsPerOwner: number;
    /** Runs waiting per owner; beyond it a run is `refused`. */
    maxQueuedPerOwner: number;
    /** For the kubernetes runner (plugins/kubernetes-runner.ts); `podAddress` is where its plugins reach the Pod. */
    kubernetes: {
      /** The kubeconfig file; the Pod's in-cluster service account when not given. */
      kubeconfig?: string;
      /** Where the Jobs go; the kubeconfig context's namespace (or the service account's) when not given. */
      namespace?: string;
      /** The NetworkPolicy's block for the Pod's address, needed when `podAddress` names a host rather than an IP. */
      podCidr?: string;
      /** A finished Job that the Pod did not delete (it went away) is removed by the cluster after this long. */
      ttlSeconds: number;
    };
  };
}

/** The docker runner's own bridge network, unless `--plugin-network` names another (or `host`). */
export const PLUGIN_NETWORK = 'pod-plugins';

export const defaultConfig = (): PodConfig => ({
  host: '127.0.0.1',
  port: 3030,
  dataDir: './data',
  owners: 'ANY',
  insecure: false,
  logLevel: 'info',
  jsonBodyLimit: 16 * 1024 * 1024,
  uploadLimit: 1024 * 1024 * 1024,
  corsOrigins: [],
  idleCloseMs: 5 * 60_000,
  limits: {
    maxOpenOwners: 200,
    pageCacheBytes: 256 * 1024 * 1024,
    maxFeedsPerOwner: 16,
    maxFeeds: 256,
    maxAnswerBytes: 64 * 1024 * 1024,
    maxBulkSearches: 100,
    // 200 MP: a phone's 200-megapixel mode (16320×12240) passes.
    maxThumbnailPixels: 200_000_000,
    bodyTimeoutMs: 120_000,
    keepAliveMs: 75_000,
    maxImportBytes: 64 * 1024 ** 3,
    ownerQuotaBytes: 0,
  },
  oauth: new Map(),
  plugins: {
    runner: 'none',
    commands: {},
    network: PLUGIN_NETWORK,
    memoryMiB: 512,
    tmpMiB: 64,
    cpus: 1,
    timeoutSeconds: 3600,
    maxRuns: 8,
    maxRunsPerOwner: 2,
    maxQueuedPerOwner: 32,
    kubernetes: { ttlSeconds: 600 },
  },
});

export const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/** The allow-list form of an owner key: SHA-256 of its bytes, hex (spec §2). */
export const ownerHash = (ownerKeyHex: string) =>
  createHash('sha256').update(Buffer.from(ownerKeyHex, 'hex')).digest('hex');

/** Refuses settings that would expose the Pod unsafely; returns what to fix, or nothing. */
export function configProblems(config: PodConfig): string[] {
  const problems: string[] = [];
  if (!isLoopback(config.host) && !config.insecure) {
    if (config.owners === 'ANY')
      problems.push(`--owners ANY on ${config.host} lets anyone create a database; list the owners or pass --insecure`);
    if (!config.tls)
      problems.push(
        `plain HTTP on ${config.host} exposes keys on the network; give --tls-cert and --tls-key or pass --insecure`,
      );
  }
  if (config.plugins.runner === 'process' && !isLoopback(config.host) && !config.insecure)
    problems.push(
      `--plugin-runner process on ${config.host}: plugins would run as the Pod's own user, able to read its data folder, memory and environment; use --plugin-runner docker or pass --insecure`,
    );
  if (config.acceptMovesSecret !== undefined && !MOVE_SECRET.test(config.acceptMovesSecret))
    problems.push(
      'the move secret (--accept-moves-secret-file) must be at least 32 characters without spaces; generate one with: openssl rand -hex 32',
    );
  if (config.plugins.runner === 'kubernetes') {
    const problem = kubernetesAddressProblem(config.plugins);
    if (problem) problems.push(problem);
  }
  if (config.metricsToken !== undefined && !METRICS_TOKEN.test(config.metricsToken))
    problems.push(
      '--metrics-token must be at least 16 characters of letters, digits and -._~+/= (a Bearer token); generate one with: openssl rand -hex 32',
    );
  if (config.smtp && !config.smtp.from) problems.push('--smtp-from is needed with --smtp-host');
  if (isOpenRelay(config))
    problems.push(
      '--smtp-host with --owners ANY lets anyone send mail through your relay; list the owners with --owners, or pass --smtp-allow-any-owner',
    );
  if (
    config.smtp &&
    (config.smtp.perHour ?? SMTP_LIMITS.perHour) < (config.smtp.maxRecipients ?? SMTP_LIMITS.maxRecipients)
  )
    problems.push('--smtp-rate must be at least --smtp-max-recipients, or no email could ever go out');
  return problems;
}

/** The Pod as the kubernetes runner's NetworkPolicy lets plugins reach it: an IP block and a port. */
export function kubernetesPolicyTarget({
  podAddress,
  kubernetes,
}: Pick<PodConfig['plugins'], 'podAddress' | 'kubernetes'>): { cidr: string; port: number } {
  const problem = kubernetesAddressProblem({ podAddress, kubernetes });
  if (problem) throw new Error(problem);
  const url = new URL(podAddress ?? '');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return { cidr: kubernetes.podCidr ?? `${host}/${isIP(host) === 6 ? 128 : 32}`, port };
}

function kubernetesAddressProblem({
  podAddress,
  kubernetes,
}: Pick<PodConfig['plugins'], 'podAddress' | 'kubernetes'>): string | undefined {
  if (podAddress === undefined)
    return "--plugin-runner kubernetes needs --plugin-pod-address: the Pod's URL as the cluster's pods reach it";
  let url: URL;
  try {
    url = new URL(podAddress);
  } catch {
    return `--plugin-pod-address ${podAddress} is not a URL such as http://10.0.0.5:3030`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `--plugin-pod-address ${podAddress} must be an http or https URL`;
  const { podCidr } = kubernetes;
  if (podCidr !== undefined) {
    const [address = '', bits, ...rest] = podCidr.split('/');
    const family = isIP(address);
    const valid =
      family > 0 && rest.length === 0 && /^\d+$/.test(bits ?? '') && Number(bits) <= (family === 6 ? 128 : 32);
    return valid ? undefined : `--kubernetes-pod-cidr ${podCidr} is not an address block such as 10.0.0.5/32`;
  }
  if (!isIP(url.hostname.replace(/^\[|\]$/g, '')))
    return `--plugin-pod-address names the host ${url.hostname}: give --kubernetes-pod-cidr, the address block it resolves to, for the plugins' NetworkPolicy`;
  return undefined;
}

/** RFC 6750's token68, long enough not to be guessed. */
const METRICS_TOKEN = /^[A-Za-z0-9\-._~+/]{16,}=*$/;
/** A Bearer token too (no spaces), and long enough not to be guessed. */
const MOVE_SECRET = /^\S{32,}$/;

/** Settings that are allowed but loosen what the Pod promises: logged at start-up. */
export function configWarnings({ plugins, corsOrigins, host, metricsToken }: PodConfig): string[] {
  const warnings: string[] = [];
  if (!isLoopback(host) && metricsToken === undefined)
    warnings.push(
      `GET /metrics on ${host} is open to anyone who reaches this address (request counts, open owners, plugin runs; no keys); set --metrics-token to require a Bearer token`,
    );
  if (corsOrigins === '*') warnings.push('--cors-origins *: every web page the owner visits may call this Pod');
  if (plugins.runner === 'process')
    warnings.push(
      "the process runner does not isolate plugins: they run as the Pod's own user and can read its data folder, memory and environment; use it only to develop plugins you trust",
    );
  if (plugins.runner === 'docker' && plugins.network === 'host')
    warnings.push(
      "--plugin-network host: plugins share the host's network, reach every service on its loopback and the cloud metadata address, and can listen beside the Pod; use it only for plugins you trust",
    );
  return warnings;
}
