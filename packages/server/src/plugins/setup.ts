/**
 * The plugin side of a Pod, built from its configuration: the docker runner's network, the runner
 * itself, and the runs that launch through it.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { PodConfig } from '../config.js';
import type { OwnerPool } from '../storage/owners.js';
import type { PluginCredentials } from './credentials.js';
import { DockerRunner } from './docker-runner.js';
import { KubernetesRunner } from './kubernetes-runner.js';
import { PluginNetwork } from './plugin-network.js';
import { PluginDir } from './plugin-dir.js';
import { ProcessRunner } from './process-runner.js';
import { noRunner, type PluginRunner } from './runner.js';
import { PluginRuns } from './trigger.js';

export interface PluginParts {
  /** The docker runner's own network; listenPod (listen.ts) opens it once the Pod listens. */
  network: PluginNetwork | undefined;
  runner: PluginRunner;
  runs: PluginRuns;
}

export function createPluginParts(
  config: PodConfig,
  uses: {
    owners: OwnerPool;
    credentials: PluginCredentials;
    log: FastifyBaseLogger;
    /** Where the Pod listens, once it does. */
    address: () => AddressInfo | string | null;
    /** A runner of the caller's instead of the configured one (tests, benches). */
    runner?: PluginRunner;
  },
): PluginParts {
  const { plugins } = config;
  const network =
    plugins.runner === 'docker' && plugins.network !== 'host'
      ? new PluginNetwork({ name: plugins.network, socketPath: plugins.dockerSocket, log: uses.log })
      : undefined;
  const runner = uses.runner ?? runnerFor(config, network, uses.log);
  // Containers of a crashed predecessor hold credentials that no longer work: remove them.
  void runner
    .removeLeftovers?.()
    .then((count) => count && uses.log.warn(`removed ${count} plugin container(s) left running by an earlier Pod`))
    .catch((error: Error) => uses.log.warn(`could not look for leftover plugin containers: ${error.message}`));
  const runs = new PluginRuns({
    runner,
    credentials: uses.credentials,
    podAddress: () => plugins.podAddress ?? network?.podAddress() ?? ownAddress(config, uses.address()),
    keepOpen: (owner, until) => void uses.owners.using(owner, () => until),
    log: uses.log,
    limits: plugins,
  });
  return { network, runner, runs };
}

function runnerFor(
  { plugins, dataDir }: PodConfig,
  network: PluginNetwork | undefined,
  log: FastifyBaseLogger,
): PluginRunner {
  // names this Pod's containers or Jobs, so that the next Pod on the same data finds what a crash left
  const instance = createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 16);
  switch (plugins.runner) {
    case 'none':
      return noRunner;
    case 'process':
      return new ProcessRunner({
        ...plugins,
        folder: plugins.dir === undefined ? undefined : new PluginDir(plugins.dir, log),
      });
    case 'docker':
      return new DockerRunner({
        ...plugins,
        instance,
        networkReady: network && (() => network.ready()),
        log,
      });
    case 'kubernetes':
      return new KubernetesRunner({ ...plugins, instance, log });
  }
}

/** Where this Pod listens, as plugins on this machine reach it (POD_FULL_ADDRESS). */
function ownAddress(config: PodConfig, address: AddressInfo | string | null): string {
  if (address === null || typeof address === 'string') throw new Error('the Pod does not listen on a TCP port yet');
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return `${config.tls ? 'https' : 'http'}://${host}:${address.port}`;
}
