/**
 * Plugin runners: what starts a plugin when a PluginRun item is created (spec §7). Runners sit
 * behind this interface so a Docker, process or Kubernetes runner can be chosen by configuration.
 * A runner only runs what it is given: the trigger decides the environment and the credential.
 */
import type { LaunchRefusal } from '@pod/protocol';

/** What a runner needs to start one plugin run. */
export interface PluginLaunch {
  /** SHA-256 of the owner key: names and labels carry this, never the key itself. */
  ownerHash: string;
  runId: string;
  containerImage: string;
  /**
   * The plugin's whole environment (spec §7: see `pluginEnvironment`); nothing of the Pod's is
   * added. The runner adds only `POD_WEBSERVER_HOST` and `POD_WEBSERVER_PORT`: where it expects the web server.
   */
  env: Record<string, string>;
  /** The run's `webserverPort` (2023 §8), DEFAULT_WEBSERVER_PORT when it sets none. */
  webserverPort: number;
  /** Values replaced by `***` in `logs()`: the credential and anything else the plugin must not echo. */
  secrets: string[];
}

/** How a run ended. A run killed by a signal reports 128 + the signal number, as a shell would. */
export interface PluginExit {
  /** `null` when the runner lost track of the run (the engine went away) and cannot tell. */
  exitCode: number | null;
  /** The runner stopped it at its time limit. */
  timedOut: boolean;
  /** `stop()` ended it. */
  stopped: boolean;
}

/** Where the Pod reaches a run's own web server (2023 §6): always the run's, never a host a caller names. */
export interface WebServer {
  host: string;
  port: number;
}

/**
 * Tells the plugin where to listen: the runner's choice of port (see each runner's `webServer`).
 * 2023 plugins that ignore it listen on their run's webserverPort, which the docker runner honours.
 */
export const WEBSERVER_PORT_VARIABLE = 'POD_WEBSERVER_PORT';
/** The address to listen on there: 127.0.0.1 where the plugin shares the host's ports, 0.0.0.0 in a container's own network. */
export const WEBSERVER_HOST_VARIABLE = 'POD_WEBSERVER_HOST';

export interface RunningPlugin {
  /** Container name or process id, for the Pod's log and `podLaunchMessage`. */
  readonly name: string;
  /** Resolves (never rejects) once the run has ended and its container or process is gone. */
  readonly exited: Promise<PluginExit>;
  /** Ends the run (SIGTERM, then SIGKILL after a grace period); resolves with `exited`. */
  stop(): Promise<void>;
  /** What the plugin printed, stdout and stderr interleaved, the last MiB at most, secrets masked. */
  logs(): Promise<string>;
  /** Where its web server listens, as the Pod reaches it; undefined once the run has ended or if it cannot be found. */
  webServer(): Promise<WebServer | undefined>;
}

/** Why nothing was started: `reason` goes to `podLaunchStatus`, the message to `podLaunchMessage`. */
export class LaunchError extends Error {
  constructor(
    /** `refused`: the run has no grant the Pod can honour (see trigger.ts `grantOf`). */
    readonly reason: LaunchRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'LaunchError';
  }
}

export interface PluginRunner {
  readonly name: string;
  /** Resolves once the plugin is running; rejects with a `LaunchError` when it could not be started. */
  start(launch: PluginLaunch): Promise<RunningPlugin>;
  /** Stops every run still going (on Pod shutdown), so no container or process outlives the Pod. */
  close(): Promise<void>;
  /** The images it can start now, by name (never their commands or paths). */
  images?(): Promise<string[]>;
  /** At start-up: removes what an earlier Pod on the same data left running when it crashed; how many. */
  removeLeftovers?(): Promise<number>;
  /** Rejects when the engine it starts plugins on does not answer (`GET /readyz`); absent: nothing to reach. */
  ping?(): Promise<void>;
}

/** The default until a runner is configured: it records that nothing was launched. */
export const noRunner: PluginRunner = {
  name: 'none',
  async start() {
    throw new LaunchError(
      'noRunner',
      'no plugin runner is configured on this Pod, so nothing was launched; a client may run the plugin itself',
    );
  },
  async close() {},
};

/** The environment of spec §7, the names the original Pod used. */
export function pluginEnvironment(run: {
  podAddress: string;
  ownerKey: string;
  runId: string;
  targetItemJson: string;
  authJson: string;
}): Record<string, string> {
  return {
    // plugins append "/v4/<owner>" themselves
    POD_FULL_ADDRESS: run.podAddress.replace(/\/+$/, ''),
    POD_OWNER: run.ownerKey,
    POD_PLUGINRUN_ID: run.runId,
    POD_TARGET_ITEM: run.targetItemJson,
    POD_AUTH_JSON: run.authJson,
  };
}

/** Replaces every secret in `text` by `***`, longest first so a secret containing another is masked whole. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  const sorted = secrets.filter((secret) => secret.length > 0).sort((a, b) => b.length - a.length);
  for (const secret of sorted) text = text.split(secret).join('***');
  return text;
}

/** Logs kept per run. */
export const LOG_LIMIT_BYTES = 1024 * 1024;

/**
 * The last `limit` bytes of `buffer`, starting at a line boundary when cut: a cut through a line
 * could leave the tail of a secret that masking no longer recognises.
 */
export function lastBytes(buffer: Buffer, limit = LOG_LIMIT_BYTES): Buffer {
  if (buffer.length <= limit) return buffer;
  const tail = buffer.subarray(buffer.length - limit);
  const newline = tail.indexOf(0x0a);
  return newline < 0 ? Buffer.alloc(0) : tail.subarray(newline + 1);
}
