/**
 * Runs each plugin in a container through the Docker Engine API: on the plugins' own network (see
 * plugin-network.ts; `host` only on request), as a non-root user, on a read-only root filesystem
 * with a small tmpfs at /tmp, with limits, labels and a time limit. Images are never pulled (a Pod
 * need not reach a registry): an image that is not on the machine is `imageMissing`. A run's web
 * server is its container's address on that network at its webserverPort (2023 §8); no port is
 * published on the host. On the host network (shared ports) it gets a free loopback port instead.
 */
import Docker from 'dockerode';
import { PLUGIN_IMAGE_LABEL } from '@pod/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { PodConfig } from '../config.js';
import { freePort } from '../free-port.js';
import {
  LaunchError,
  lastBytes,
  maskSecrets,
  type PluginLaunch,
  type PluginRunner,
  type RunningPlugin,
  type WebServer,
  WEBSERVER_HOST_VARIABLE,
  WEBSERVER_PORT_VARIABLE,
} from './runner.js';
import { STOP_GRACE_SECONDS, Supervisor, type Supervised } from './supervision.js';

export type DockerRunnerOptions = Pick<PodConfig['plugins'], 'network' | 'memoryMiB' | 'cpus' | 'timeoutSeconds'> &
  Partial<Pick<PodConfig['plugins'], 'dockerSocket' | 'tmpMiB'>> & {
    /** Resolves once `network` is ready and firewalled; a launch waits for it and fails with it. */
    networkReady?: () => Promise<unknown>;
    /** Between SIGTERM and SIGKILL when a run is stopped; STOP_GRACE_SECONDS when not given. */
    stopGraceSeconds?: number;
    /**
     * Names this Pod's containers (label `pod.instance`), so that the next Pod on the same data can
     * remove what a crash left running; their credentials died with the Pod that started them.
     */
    instance?: string;
    /** Where a container that could not be removed is reported; process warnings when not given. */
    log?: Pick<FastifyBaseLogger, 'warn'>;
  };

/**
 * An image reference in the engine's own grammar (distribution/reference): an optional registry
 * host, path components of lowercase letters and digits joined by single `.`, `_`, `__` or dashes,
 * an optional tag and digest. So no `..`, no empty or leading `/`, nothing that would walk the
 * engine API path the name is sent in.
 */
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REGISTRY =
  '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?';
const IMAGE_REFERENCE = new RegExp(
  `^${REGISTRY}${COMPONENT}(?:/${COMPONENT})*(?::[\\w][\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`,
);
const MAX_IMAGE_REFERENCE = 255;
/** Whether `image` is a container image reference a runner may send to its engine. */
export const isImageReference = (image: string) => image.length <= MAX_IMAGE_REFERENCE && IMAGE_REFERENCE.test(image);
/** Whom a plugin runs as when its image names no user of its own, or root: nobody. */
const NOBODY = '65534:65534';
const ENGINE_UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'EPIPE']);
/** A plugin that fork-bombs or leaks threads stops here rather than exhausting the host. */
const PIDS_LIMIT = 512;
/**
 * Open files per process, and processes per user. RLIMIT_NPROC counts every process of the uid on
 * the host, and plugins share uid 65534, so it bounds all plugin containers together (eight
 * containers' worth); PidsLimit is the bound of each.
 */
const ULIMITS = [
  { Name: 'nofile', Soft: 1024, Hard: 1024 },
  { Name: 'nproc', Soft: 8 * PIDS_LIMIT, Hard: 8 * PIDS_LIMIT },
];

interface EngineError extends Error {
  statusCode?: number;
  code?: string;
  json?: { message?: string };
}

export class DockerRunner implements PluginRunner {
  readonly name = 'docker';
  readonly #docker: Docker;
  readonly #socketPath: string;
  readonly #supervisor: Supervisor;

  constructor(readonly options: DockerRunnerOptions) {
    this.#socketPath = options.dockerSocket ?? '/var/run/docker.sock';
    this.#supervisor = new Supervisor(options.timeoutSeconds);
    this.#docker = new Docker({ socketPath: this.#socketPath });
  }

  async start(launch: PluginLaunch): Promise<RunningPlugin> {
    const image = launch.containerImage;
    if (!isImageReference(image))
      throw new LaunchError(
        'imageMissing',
        `${JSON.stringify(image)} is not a container image name (such as my-plugin:1.0 or registry.example:5000/team/my-plugin)`,
      );
    let user: string;
    try {
      user = runAs((await this.#docker.getImage(image).inspect()).Config?.User);
    } catch (error) {
      if ((error as EngineError).statusCode === 404)
        throw new LaunchError(
          'imageMissing',
          `image ${image} is not on this machine; build or load it there (images are never pulled)`,
        );
      throw this.#failure(error, `cannot look up image ${image}`);
    }
    await this.options.networkReady?.();

    const name = containerName(launch);
    const network = this.options.network;
    const port = network === 'host' ? await freePort() : launch.webserverPort;
    const env = {
      ...launch.env,
      [WEBSERVER_HOST_VARIABLE]: network === 'host' ? '127.0.0.1' : '0.0.0.0',
      [WEBSERVER_PORT_VARIABLE]: String(port),
    };
    let container: Docker.Container;
    try {
      container = await this.#docker.createContainer({
        name,
        Image: image,
        User: user,
        Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
        Labels: {
          'pod.owner': launch.ownerHash,
          'pod.run': launch.runId,
          'pod.image': image,
          ...(this.options.instance ? { 'pod.instance': this.options.instance } : {}),
        },
        HostConfig: {
          NetworkMode: this.options.network,
          Memory: this.options.memoryMiB * 1024 * 1024,
          MemorySwap: this.options.memoryMiB * 1024 * 1024,
          NanoCpus: Math.round(this.options.cpus * 1e9),
          PidsLimit: PIDS_LIMIT,
          Ulimits: ULIMITS,
          // nothing of the image can be changed, and the disk cannot be filled: /tmp is memory,
          // counted in the memory limit
          ReadonlyRootfs: true,
          Tmpfs: { '/tmp': `rw,noexec,nosuid,nodev,size=${this.options.tmpMiB ?? 64}m,mode=1777` },
          // an init as PID 1 passes SIGTERM on: node and python ignore it when they are PID 1
          Init: true,
          // on the host network (opt-in), NET_RAW alone would let a plugin read other owners' keys off loopback
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          // bounded on disk too: at most ~1 MiB of log files per run, the latest output
          LogConfig: { Type: 'json-file', Config: { 'max-size': '512k', 'max-file': '2' } },
        },
      });
    } catch (error) {
      if ((error as EngineError).statusCode === 409)
        throw new LaunchError('failed', `a container named ${name} already exists: this run was started before`);
      throw this.#failure(error, `cannot create container ${name}`);
    }
    try {
      await container.start();
    } catch (error) {
      await container.remove({ force: true }).catch((removal: Error) => this.#removalFailed(name, removal));
      throw this.#failure(error, `cannot start container ${name}`);
    }

    const grace = this.options.stopGraceSeconds ?? STOP_GRACE_SECONDS;
    const onRemovalFailed = (removal: Error) => this.#removalFailed(name, removal);
    const webServer =
      network === 'host' ? async () => ({ host: '127.0.0.1', port }) : addressOn(container, network, port);
    return this.#supervisor.watch(containerRun(container, name, launch.secrets, grace, onRemovalFailed, webServer));
  }

  close(): Promise<void> {
    return this.#supervisor.close();
  }

  /**
   * The local images built for the Pod (label `pod.plugin`, which `pod-plugin build` sets), by tag,
   * `:latest` left off as a run's containerImage would name it. Never pulled: only what is here.
   */
  async images(): Promise<string[]> {
    try {
      const images = await this.#docker.listImages({ filters: { label: [PLUGIN_IMAGE_LABEL] } });
      const tags = images.flatMap((image) => image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>');
      return [...new Set(tags.map((tag) => tag.replace(/:latest$/, '')))];
    } catch (error) {
      throw this.#failure(error, 'cannot list the images');
    }
  }

  /** Removes the containers of an earlier Pod of the same `instance` (see the option); how many. */
  async ping(): Promise<void> {
    await this.#docker.ping();
  }

  async removeLeftovers(): Promise<number> {
    if (!this.options.instance) return 0;
    try {
      const leftovers = await this.#docker.listContainers({
        all: true,
        filters: { label: [`pod.instance=${this.options.instance}`] },
      });
      await Promise.all(leftovers.map((info) => this.#docker.getContainer(info.Id).remove({ force: true })));
      return leftovers.length;
    } catch (error) {
      throw this.#failure(error, 'cannot list leftover containers');
    }
  }

  /** A container left behind: said in one line, with what removes it. */
  #removalFailed(name: string, error: Error): void {
    // 404 gone already, 409 being removed (by `removeLeftovers`, or by hand): nothing is left behind
    const status = (error as EngineError).statusCode;
    if (status === 404 || status === 409) return;
    const message = `cannot remove container ${name} (${error.message}); \`docker rm -f ${name}\` removes it`;
    if (this.options.log) this.options.log.warn(message);
    else process.emitWarning(message);
  }

  #failure(error: unknown, doing: string): LaunchError {
    const engineError = error as EngineError;
    if (engineError.code && ENGINE_UNREACHABLE.has(engineError.code))
      return new LaunchError(
        'failed',
        `no container engine at ${this.#socketPath} (${engineError.code}); start dockerd or set the socket`,
      );
    return new LaunchError('failed', `${doing}: ${engineError.json?.message ?? engineError.message}`);
  }
}

/** The image's own user unless it is root (by name or id), else nobody. */
function runAs(imageUser: string | undefined): string {
  const [user = '', group] = (imageUser ?? '').split(':');
  const root = user === '' || user === 'root' || user === '0' || group === '0' || group === 'root';
  return root || imageUser === undefined ? NOBODY : imageUser;
}

/** `<owner hash prefix>-<image>-<run id>` within Docker's name rules `[a-zA-Z0-9][a-zA-Z0-9_.-]*`. */
export function containerName(launch: Pick<PluginLaunch, 'ownerHash' | 'containerImage' | 'runId'>): string {
  const part = (text: string) => text.replace(/[^a-zA-Z0-9_.-]+/g, '-').slice(0, 64);
  return `${part(launch.ownerHash.slice(0, 16)) || 'pod'}-${part(launch.containerImage)}-${part(launch.runId)}`;
}

function containerRun(
  container: Docker.Container,
  name: string,
  secrets: string[],
  graceSeconds: number,
  onRemovalFailed: (error: Error) => void,
  webServer: () => Promise<WebServer | undefined>,
): Supervised {
  let finalLogs: string | undefined;
  return {
    name,
    webServer,
    // 304 (already stopped) and 404 are fine here
    halt: () =>
      container.stop({ t: graceSeconds }).then(
        () => {},
        () => {},
      ),
    ended: container.wait().then(
      (result: { StatusCode: number }) => result.StatusCode,
      // the engine went away mid-run: the exit code is unknown, but the container still goes below
      () => null,
    ),
    async cleanUp() {
      // removed only now, not by AutoRemove, so that the logs can still be read
      finalLogs = await readLogs(container).catch(() => '');
      await container.remove({ force: true }).catch(onRemovalFailed);
    },
    async logs() {
      const text = finalLogs ?? (await readLogs(container).catch(() => finalLogs ?? ''));
      return maskSecrets(text, secrets);
    },
  };
}

/** The container's address on `network` (asked of the engine once, when first needed) at `port`. */
function addressOn(container: Docker.Container, network: string, port: number): () => Promise<WebServer | undefined> {
  let host: Promise<string | undefined> | undefined;
  const lookUp = async () => {
    const address = (await container.inspect()).NetworkSettings.Networks[network]?.IPAddress;
    return address || undefined;
  };
  return async () => {
    host ??= lookUp().catch(() => {
      host = undefined; // the engine may answer next time
      return undefined;
    });
    const found = await host;
    return found === undefined ? undefined : { host: found, port };
  };
}

async function readLogs(container: Docker.Container): Promise<string> {
  const raw = await container.logs({ stdout: true, stderr: true, follow: false });
  return lastBytes(demultiplex(raw)).toString('utf8');
}

/**
 * Without a TTY the engine frames each write: 1 byte stream (1 stdout, 2 stderr), 3 zero bytes, a
 * 4-byte big-endian length, then the bytes. Both streams are kept, in the order they were written.
 */
function demultiplex(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= raw.length) {
    const size = raw.readUInt32BE(at + 4);
    parts.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(parts);
}
