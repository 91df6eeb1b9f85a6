/** The Pod's settings: one typed object, filled from flags and environment variables by `cli.ts`. */
import { createHash } from 'node:crypto';

export const PLUGIN_RUNNERS = ['none', 'process', 'docker'] as const;
export type PluginRunnerKind = (typeof PLUGIN_RUNNERS)[number];

export interface SmtpConfig {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
  from: string;
}

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
  /** `*` or a list of allowed origins for CORS. */
  corsOrigins: '*' | string[];
  /** An owner's database closes after this long without a request. */
  idleCloseMs: number;
  /** Limits that keep one owner from stalling or exhausting the Pod (see docs/architecture.md). */
  limits: {
    /** Open owner databases; the least recently used idle one closes to make room. */
    maxOpenOwners: number;
    /** Live-feed subscriptions per owner, and in all. */
    maxFeedsPerOwner: number;
    maxFeeds: number;
    /** Largest answer to a search or bulk, in bytes; larger ones are refused with how to page. */
    maxAnswerBytes: number;
    /** Searches in one bulk. */
    maxBulkSearches: number;
    /** A JSON body must have arrived within this long (uploads are exempt; they are cut when idle). */
    bodyTimeoutMs: number;
  };
  smtp?: SmtpConfig;
  plugins: {
    runner: PluginRunnerKind;
    /** POD_FULL_ADDRESS handed to plugins; derived from host and port when not given. */
    podAddress?: string;
    /** For the process runner: image name → command line (argv). */
    commands: Record<string, string[]>;
    /** For the docker runner: the engine's socket (default: dockerode's, /var/run/docker.sock). */
    dockerSocket?: string;
    network: string;
    memoryMiB: number;
    cpus: number;
    timeoutSeconds: number;
  };
}

export const defaultConfig = (): PodConfig => ({
  host: '127.0.0.1',
  port: 3030,
  dataDir: './data',
  owners: 'ANY',
  insecure: false,
  logLevel: 'info',
  jsonBodyLimit: 16 * 1024 * 1024,
  uploadLimit: 1024 * 1024 * 1024,
  corsOrigins: '*',
  idleCloseMs: 5 * 60_000,
  limits: { maxOpenOwners: 200, maxFeedsPerOwner: 16, maxFeeds: 256, maxAnswerBytes: 64 * 1024 * 1024, maxBulkSearches: 100, bodyTimeoutMs: 120_000 },
  plugins: { runner: 'none', commands: {}, network: 'host', memoryMiB: 512, cpus: 1, timeoutSeconds: 3600 },
});

export const isLoopback = (host: string) =>
  host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

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
      problems.push(`plain HTTP on ${config.host} exposes keys on the network; give --tls-cert and --tls-key or pass --insecure`);
  }
  if (config.smtp && !config.smtp.from) problems.push('--smtp-from is needed with --smtp-host');
  return problems;
}
