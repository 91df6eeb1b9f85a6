/**
 * The docker runner's network of plugins (H2 of the first security review): a bridge of their own
 * instead of the host's network. The Pod also listens on the bridge's gateway, and an iptables
 * firewall lets plugins reach that one port of the host and nothing else of it, nor the link-local
 * 169.254.0.0/16 (cloud metadata); the Internet stays reachable, as importers need it. Plugins on
 * the bridge cannot talk to each other (inter-container traffic is off) and cannot listen on the
 * host's addresses, so none can bind beside the Pod.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import type { FastifyBaseLogger } from 'fastify';
import { LaunchError } from './runner.js';

const run = promisify(execFile);
/** Our rules for traffic from plugins to the host itself, jumped to from INPUT per bridge. */
const CHAIN = 'POD-PLUGINS';
const REJECT = ['-j', 'REJECT', '--reject-with', 'icmp-admin-prohibited'];
const LINK_LOCAL = '169.254.0.0/16';
/** Packets of connections already accepted, such as the Pod's own to a plugin's web server. */
const ANSWERS = ['-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED'];

interface Opened {
  gateway: string;
  bridge: string;
}

export interface PluginNetworkOptions {
  name: string;
  socketPath?: string;
  log: FastifyBaseLogger;
}

export class PluginNetwork {
  readonly name: string;
  readonly #docker: Docker;
  readonly #log: FastifyBaseLogger;
  #opening?: Promise<Opened>;
  /** The bridge, once found or created (the firewall may still be missing: see `ready`). */
  #network?: Opened;
  #failure?: string;
  #pod?: { port: number; scheme: string; listenOn: (host: string) => Promise<void> };
  /** The gateway the Pod listens on already (a retry after a failed firewall must not listen twice). */
  #listeningOn?: string;
  #undo: string[][] = [];

  constructor(options: PluginNetworkOptions) {
    this.name = options.name;
    this.#docker = new Docker({ socketPath: options.socketPath ?? '/var/run/docker.sock' });
    this.#log = options.log;
  }

  /**
   * Called once the Pod listens on `port`: creates the network when missing, has the Pod listen on
   * its gateway too (`listenOn`) and installs the firewall. A failure is logged and retried at the
   * next launch; until then launches fail saying why.
   */
  async open(port: number, scheme: string, listenOn: (host: string) => Promise<void>): Promise<void> {
    this.#pod = { port, scheme, listenOn };
    await this.ready().catch((error: Error) => this.#log.error(`plugins cannot be launched yet: ${error.message}`));
  }

  /** Resolves once plugins on the network reach the Pod and nothing else of the host. */
  ready(): Promise<Opened> {
    this.#opening ??= this.#open().catch((error: Error) => {
      this.#opening = undefined;
      this.#failure = error.message;
      throw error instanceof LaunchError ? error : new LaunchError('failed', error.message);
    });
    return this.#opening;
  }

  /** POD_FULL_ADDRESS as plugins on the network reach the Pod (its gateway); the runner awaits `ready` before it starts one. */
  podAddress(): string {
    if (!this.#network || !this.#pod) {
      void this.ready().catch(() => {});
      throw new LaunchError(
        'failed',
        `the plugin network ${this.name} is not ready${this.#failure ? `: ${this.#failure}` : ''}; it is retried at the next run`,
      );
    }
    return `${this.#pod.scheme}://${this.#network.gateway}:${this.#pod.port}`;
  }

  /** Removes the rules that let plugins reach this Pod's port (the Pod is closing). */
  async close(): Promise<void> {
    for (const rule of this.#undo.splice(0)) await iptables('-D', ...rule).catch(() => {});
  }

  async #open(): Promise<Opened> {
    const pod = this.#pod;
    if (!pod) throw new LaunchError('failed', 'the Pod does not listen yet');
    const opened = await this.#ensureNetwork();
    this.#network = opened;
    if (this.#listeningOn !== opened.gateway) {
      await pod.listenOn(opened.gateway);
      this.#listeningOn = opened.gateway;
    }
    await this.#confine(opened, pod.port);
    this.#log.info(
      `plugins run on the docker network ${this.name} and reach the Pod at ${pod.scheme}://${opened.gateway}:${pod.port}`,
    );
    return opened;
  }

  /** The bridge, created when missing (two Pods creating it at once both end up using it). */
  async #ensureNetwork(): Promise<Opened> {
    let info: Docker.NetworkInspectInfo;
    try {
      info = await this.#docker.getNetwork(this.name).inspect();
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404)
        throw engineFailure(error, `cannot look up the docker network ${this.name}`);
      await this.#docker
        .createNetwork({
          Name: this.name,
          Driver: 'bridge',
          CheckDuplicate: true,
          Labels: { 'pod.network': 'plugins' },
          Options: {
            // plugins of different owners cannot reach each other
            'com.docker.network.bridge.enable_icc': 'false',
            // a name of our own makes the firewall rules readable; Linux allows 15 characters
            ...(this.name.length <= 15 ? { 'com.docker.network.bridge.name': this.name } : {}),
          },
        })
        .catch((creating: { statusCode?: number }) => {
          if (creating.statusCode !== 409)
            throw engineFailure(creating, `cannot create the docker network ${this.name}`);
        });
      info = await this.#docker.getNetwork(this.name).inspect();
    }
    if (info.Driver !== 'bridge')
      throw new LaunchError(
        'failed',
        `the docker network ${this.name} is a ${info.Driver} network; plugins need a bridge (or --plugin-network host)`,
      );
    // the firewall below is IPv4 only
    if (info.EnableIPv6)
      throw new LaunchError(
        'failed',
        `the docker network ${this.name} has IPv6 enabled, which the plugin firewall does not cover; use a network without it`,
      );
    const gateway = info.IPAM?.Config?.find((config) => config.Gateway && !config.Gateway.includes(':'))?.Gateway;
    if (!gateway) throw new LaunchError('failed', `the docker network ${this.name} has no IPv4 gateway`);
    const bridge = info.Options?.['com.docker.network.bridge.name'] ?? `br-${info.Id.slice(0, 12)}`;
    return { gateway, bridge };
  }

  /**
   * From the bridge: the Pod's port on the gateway and answers to connections the host opened, and
   * nothing else of the host (INPUT) nor of
   * 169.254.0.0/16 (DOCKER-USER, which docker consults first for forwarded traffic). The Pod's
   * gateway listener answers the bridge only. Each rule is added once however many Pods share it.
   */
  async #confine({ gateway, bridge }: Opened, port: number): Promise<void> {
    const pod = ['-d', gateway, '-p', 'tcp', '--dport', String(port)];
    try {
      await iptables('-N', CHAIN).catch(() => {}); // exists already
      await ensureRule('-I', 'INPUT', '-i', bridge, '-j', CHAIN);
      await ensureRule('-A', CHAIN, '-i', bridge, ...REJECT);
      // answers to the Pod's own requests to a plugin's web server (plugin/status, plugin/api)
      await ensureRule('-I', CHAIN, '-i', bridge, ...ANSWERS, '-j', 'ACCEPT');
      await ensureRule('-I', CHAIN, '-i', bridge, ...pod, '-j', 'ACCEPT');
      await ensureRule('-I', 'INPUT', '!', '-i', bridge, ...pod, ...REJECT);
      await ensureRule('-I', 'DOCKER-USER', '-i', bridge, '-d', LINK_LOCAL, ...REJECT);
    } catch (error) {
      throw new LaunchError(
        'failed',
        `cannot firewall the plugin network ${this.name} (${(error as Error).message.split('\n')[0]}); the Pod needs iptables and the right to change it (root), or --plugin-network host to run plugins unconfined`,
      );
    }
    this.#undo.push([CHAIN, '-i', bridge, ...pod, '-j', 'ACCEPT'], ['INPUT', '!', '-i', bridge, ...pod, ...REJECT]);
  }
}

const iptables = (...args: string[]) => run('iptables', ['-w', ...args]);

/** Adds a rule (`-I` at the top, `-A` at the end) unless the chain has it already. */
async function ensureRule(where: '-I' | '-A', chain: string, ...rule: string[]) {
  const present = await iptables('-C', chain, ...rule).then(
    () => true,
    () => false,
  );
  if (!present) await iptables(where, chain, ...rule);
}

function engineFailure(error: unknown, doing: string): LaunchError {
  const engineError = error as { json?: { message?: string }; message: string };
  return new LaunchError('failed', `${doing}: ${engineError.json?.message ?? engineError.message}`);
}
