/**
 * The plugin runners, each through the same scenarios (spec §7): the plugin gets the environment,
 * reaches a server on loopback, exits with its code, is stopped at its time limit or on request,
 * leaves no container or process behind, and an unknown image is `imageMissing`. The Docker part
 * needs an engine: without one it is skipped saying how to get one (required under CI=true);
 * POD_TEST_DOCKER=0 skips it. The Kubernetes part runs against a stand-in of the API server
 * (kubernetes-standin.ts), and against a real cluster when POD_TEST_KUBECONFIG names one (see below).
 */
import { DEFAULT_WEBSERVER_PORT } from '@pod/protocol';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { BatchV1Api, KubeConfig } from '@kubernetes/client-node';
import { DOCKER_SOCKET, ENV_PLUGIN, ENV_PLUGIN_IMAGE, buildEnvPluginImage } from '../bench/plugin-start.js';
import { ownerHash } from '../src/config.js';
import { dockerTestSkip } from '../src/testing.js';
import { DockerRunner } from '../src/plugins/docker-runner.js';
import { KubernetesRunner, loadKubeConfig } from '../src/plugins/kubernetes-runner.js';
import { ProcessRunner } from '../src/plugins/process-runner.js';
import {
  LaunchError,
  pluginEnvironment,
  type PluginLaunch,
  type PluginRunner,
  type RunningPlugin,
} from '../src/plugins/runner.js';
import { defaultConfig } from '../src/config.js';
import { KubernetesStandIn } from './kubernetes-standin.js';

const FIXTURE = ENV_PLUGIN;
const TEST_IMAGE = ENV_PLUGIN_IMAGE;
/** Set in this process only: a plugin must never see it. */
const POD_ONLY_VARIABLE = 'POD_TEST_SECRET_OF_THE_POD';

interface Report {
  runId: string;
  targetId: string;
  auth: { data: { token: string } };
  envNames: string[];
}

/** Stands in for the Pod: records what plugins post to it. */
const reports = new Map<string, Report>();
let podAddress = '';
const server = http.createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => (body += chunk));
  request.on('end', () => {
    if (request.url?.endsWith('/plugin_report')) {
      const report = JSON.parse(body) as Report;
      reports.set(report.runId, report);
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});

/** A real cluster for the Kubernetes part (see the end of this file): its pods reach this machine at this address. */
const CLUSTER_HOST = process.env.POD_TEST_KUBERNETES_HOST;
// listening before the suites are declared: the Kubernetes runner's NetworkPolicy is made of this address
await new Promise<void>((resolve) => server.listen(0, CLUSTER_HOST ? '0.0.0.0' : '127.0.0.1', resolve));
const serverPort = (server.address() as AddressInfo).port;
// a trailing slash, as an administrator might write it: plugins must still get none
podAddress = `http://127.0.0.1:${serverPort}/`;

/**
 * The stand-in's kubelet runs the fixture as a local process; the runner's requests are real HTTP
 * to it. Started before any suite is declared: a top-level await between them lets the root test end early.
 */
const standIn = new KubernetesStandIn({ [TEST_IMAGE]: [process.execPath, FIXTURE] });
await standIn.start();

before(() => {
  process.env[POD_ONLY_VARIABLE] = 'the Pod keeps this to itself';
});
after(async () => {
  delete process.env[POD_ONLY_VARIABLE];
  await new Promise((resolve) => server.close(resolve));
  await standIn.close();
});

function launchOf(
  image: string,
  mode?: 'exit3' | 'sleep' | 'flood',
  address = podAddress,
): PluginLaunch & { token: string } {
  const runId = `run-${randomBytes(6).toString('hex')}`;
  const ownerKey = randomBytes(32).toString('hex');
  const token = randomBytes(16).toString('hex');
  const env = pluginEnvironment({
    podAddress: address,
    ownerKey,
    runId,
    targetItemJson: JSON.stringify({ id: runId, type: 'PluginRun' }),
    authJson: JSON.stringify({ data: { token } }),
  });
  if (mode) env.PLUGIN_MODE = mode;
  return {
    ownerHash: ownerHash(ownerKey),
    runId,
    containerImage: image,
    env,
    secrets: [token],
    token,
    webserverPort: DEFAULT_WEBSERVER_PORT,
  };
}

async function until(condition: () => Promise<boolean>, what: string, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Harness {
  /** Run once before the scenarios (builds what the runner needs); a throw fails each of them. */
  prepare?: () => Promise<void>;
  /** How many containers or processes of this run are still there. */
  leftovers(runId: string, plugin: RunningPlugin): Promise<number>;
  skip?: string;
  /** Where its plugins reach the test's stand-in Pod, when not on loopback. */
  podAddress?: () => string;
}

function runnerSuite(
  name: string,
  makeRunner: (timeoutSeconds: number) => PluginRunner,
  imageFor: (plugin: string) => string,
  harness: Harness,
) {
  describe(name, { skip: harness.skip }, () => {
    const runner = makeRunner(60);
    // awaited by every scenario rather than run in a before hook, so that a missing engine counts
    // as failed tests and not as cancelled ones
    let prepared: Promise<void> | undefined;
    const ready = () => (prepared ??= harness.prepare?.() ?? Promise.resolve());
    after(() => runner.close());
    const launchFor = (image: string, mode?: 'exit3' | 'sleep' | 'flood') =>
      launchOf(image, mode, harness.podAddress?.());

    test('a plugin gets the spec environment, reaches the Pod on loopback, exits 0; its logs are kept, secrets masked', async () => {
      await ready();
      const launch = launchFor(imageFor('env-plugin'));
      const plugin = await runner.start(launch);
      assert.deepEqual(await plugin.exited, { exitCode: 0, timedOut: false, stopped: false });
      const report = reports.get(launch.runId);
      assert.ok(report, 'the plugin never reached the server');
      assert.equal(report.targetId, launch.runId);
      assert.equal(report.auth.data.token, launch.token);
      for (const variable of ['POD_FULL_ADDRESS', 'POD_OWNER', 'POD_PLUGINRUN_ID', 'POD_TARGET_ITEM', 'POD_AUTH_JSON'])
        assert.ok(report.envNames.includes(variable), `${variable} is missing`);
      assert.ok(!report.envNames.includes(POD_ONLY_VARIABLE), "the Pod's own environment leaked into the plugin");
      const logs = await plugin.logs();
      assert.match(logs, new RegExp(`run ${launch.runId} for owner [0-9a-f]{64}, auth token \\*\\*\\*`));
      assert.match(logs, /the Pod answered 200/, 'stderr is in the logs');
      assert.ok(!logs.includes(launch.token), 'a secret reached the logs');
      assert.equal(await harness.leftovers(launch.runId, plugin), 0);
    });

    test('the exit code is reported', async () => {
      await ready();
      const launch = launchFor(imageFor('env-plugin'), 'exit3');
      const plugin = await runner.start(launch);
      assert.deepEqual(await plugin.exited, { exitCode: 3, timedOut: false, stopped: false });
      assert.match(await plugin.logs(), /exiting with 3/);
      assert.equal(await harness.leftovers(launch.runId, plugin), 0);
    });

    test('only the latest output is kept, a MiB at most, from a line start, secrets masked', async () => {
      await ready();
      const launch = launchFor(imageFor('env-plugin'), 'flood');
      const plugin = await runner.start(launch);
      assert.equal((await plugin.exited).exitCode, 0);
      const logs = await plugin.logs();
      const size = Buffer.byteLength(logs);
      assert.ok(size > 256 * 1024 && size <= 1024 * 1024, `${size} bytes of logs`);
      assert.match(logs, /^line \d+ with the token \*\*\* /);
      assert.match(logs, /the end\n$/);
      assert.ok(!logs.includes(launch.token), 'a secret reached the logs');
    });

    test('a run past its time limit is ended and reported timedOut', async () => {
      await ready();
      const limited = makeRunner(2);
      const launch = launchFor(imageFor('env-plugin'), 'sleep');
      const started = Date.now();
      const plugin = await limited.start(launch);
      const exit = await plugin.exited;
      const elapsed = Date.now() - started;
      assert.equal(exit.timedOut, true);
      assert.equal(exit.stopped, false);
      assert.notEqual(exit.exitCode, 0);
      assert.ok(elapsed >= 1900 && elapsed < 15_000, `ended after ${elapsed} ms with a 2 s limit`);
      assert.match(await plugin.logs(), /sleeping/, 'the logs outlive the run');
      assert.equal(await harness.leftovers(launch.runId, plugin), 0);
    });

    test('stop() ends a running plugin and leaves nothing behind; close() stops every run', async () => {
      await ready();
      const launch = launchFor(imageFor('env-plugin'), 'sleep');
      const plugin = await runner.start(launch);
      await until(async () => (await plugin.logs()).includes('sleeping'), 'the plugin runs');
      assert.equal(await harness.leftovers(launch.runId, plugin), 1);
      await plugin.stop();
      const exit = await plugin.exited;
      assert.equal(exit.stopped, true);
      assert.equal(exit.timedOut, false);
      assert.equal(await harness.leftovers(launch.runId, plugin), 0);

      const launches = [launchFor(imageFor('env-plugin'), 'sleep'), launchFor(imageFor('env-plugin'), 'sleep')];
      const plugins = await Promise.all(launches.map((each) => runner.start(each)));
      await runner.close();
      for (const [index, each] of plugins.entries()) {
        assert.equal((await each.exited).stopped, true);
        assert.equal(await harness.leftovers(launches[index]!.runId, each), 0);
      }
    });

    test('an image it does not have is imageMissing, and nothing is started', async () => {
      await ready();
      for (const image of [imageFor('no-such-plugin'), '', 'none']) {
        const launch = launchFor(image);
        await assert.rejects(runner.start(launch), (error: unknown) => {
          assert.ok(error instanceof LaunchError, String(error));
          assert.equal(error.reason, 'imageMissing');
          return true;
        });
      }
    });
  });
}

runnerSuite(
  'ProcessRunner',
  (timeoutSeconds) =>
    new ProcessRunner({ commands: { 'env-plugin': [process.execPath, FIXTURE] }, timeoutSeconds, stopGraceSeconds: 1 }),
  (plugin) => plugin,
  {
    async leftovers(_runId, plugin) {
      try {
        process.kill(Number(plugin.name.replace('pid ', '')), 0);
        return 1;
      } catch {
        return 0;
      }
    },
  },
);

const kubernetesPlugins = { ...defaultConfig().plugins, memoryMiB: 256, cpus: 1 };
runnerSuite(
  'KubernetesRunner (API-server stand-in)',
  (timeoutSeconds) =>
    new KubernetesRunner({
      ...kubernetesPlugins,
      podAddress,
      timeoutSeconds,
      stopGraceSeconds: 1,
      kubeConfig: standIn.kubeConfig('plugins'),
      kubernetes: { ...kubernetesPlugins.kubernetes, namespace: 'plugins' },
      pollMs: 50,
    }),
  (plugin) => (plugin === 'env-plugin' ? TEST_IMAGE : `pod-test-${plugin}`),
  { leftovers: async (runId) => standIn.leftovers(runId) },
);

/**
 * The same suite on a real cluster: POD_TEST_KUBECONFIG names its kubeconfig, POD_TEST_KUBERNETES_HOST
 * the address at which its pods reach this machine, POD_TEST_KUBERNETES_IMAGE the env-plugin image
 * as the cluster pulls it (default pod-test-env-plugin, e.g. loaded with `kind load docker-image`),
 * POD_TEST_KUBERNETES_NAMESPACE where the Jobs go (default: default).
 */
const CLUSTER = process.env.POD_TEST_KUBECONFIG;
const CLUSTER_IMAGE = process.env.POD_TEST_KUBERNETES_IMAGE ?? TEST_IMAGE;
const clusterNamespace = process.env.POD_TEST_KUBERNETES_NAMESPACE ?? 'default';
const noCluster = !CLUSTER
  ? 'POD_TEST_KUBECONFIG is not set: no real cluster to run the suite against (the API-server stand-in suite runs instead)'
  : !CLUSTER_HOST
    ? "POD_TEST_KUBERNETES_HOST is not set: the address at which the cluster's pods reach this machine"
    : undefined;
const clusterConfig = CLUSTER && !noCluster ? loadKubeConfig(KubeConfig, CLUSTER) : undefined;
runnerSuite(
  'KubernetesRunner (real cluster, POD_TEST_KUBECONFIG)',
  (timeoutSeconds) =>
    new KubernetesRunner({
      ...kubernetesPlugins,
      podAddress: `http://${CLUSTER_HOST}:${serverPort}`,
      timeoutSeconds,
      stopGraceSeconds: 1,
      kubeConfig: clusterConfig!,
      kubernetes: { ...kubernetesPlugins.kubernetes, namespace: clusterNamespace },
    }),
  (plugin) => (plugin === 'env-plugin' ? CLUSTER_IMAGE : `pod-test-${plugin}`),
  {
    skip: noCluster,
    podAddress: () => `http://${CLUSTER_HOST}:${serverPort}`,
    async leftovers(runId) {
      const jobs = await clusterConfig!.makeApiClient(BatchV1Api).listNamespacedJob({
        namespace: clusterNamespace,
        labelSelector: `pod.run=${runId}`,
      });
      // a Job being deleted (Foreground) is on its way out: its Pod is ending
      return jobs.items.filter((job) => job.metadata?.deletionTimestamp === undefined).length;
    },
  },
);

const docker = new Docker({ socketPath: DOCKER_SOCKET });
const noEngine = await dockerTestSkip(DOCKER_SOCKET);
runnerSuite(
  'DockerRunner',
  (timeoutSeconds) =>
    new DockerRunner({ network: 'host', memoryMiB: 256, cpus: 1, timeoutSeconds, stopGraceSeconds: 1 }),
  (plugin) => (plugin === 'env-plugin' ? TEST_IMAGE : `pod-test-${plugin}`),
  {
    skip: noEngine,
    prepare: () => buildEnvPluginImage(docker),
    async leftovers(runId) {
      return (await docker.listContainers({ all: true, filters: { label: [`pod.run=${runId}`] } })).length;
    },
  },
);

test('DockerRunner removes the containers an earlier Pod of the same instance left running', {
  skip: noEngine,
}, async () => {
  await buildEnvPluginImage(docker);
  const instance = `test-${randomBytes(4).toString('hex')}`;
  const options = { network: 'host', memoryMiB: 128, cpus: 1, timeoutSeconds: 60, stopGraceSeconds: 1, instance };
  const launch = launchOf(TEST_IMAGE, 'sleep');
  await new DockerRunner(options).start(launch); // its Pod "crashes": nothing stops it
  assert.equal((await docker.listContainers({ filters: { label: [`pod.run=${launch.runId}`] } })).length, 1);
  assert.equal(
    await new DockerRunner({ ...options, instance: `${instance}-other` }).removeLeftovers(),
    0,
    'another Pod leaves it alone',
  );
  assert.equal(await new DockerRunner(options).removeLeftovers(), 1);
  assert.equal((await docker.listContainers({ all: true, filters: { label: [`pod.run=${launch.runId}`] } })).length, 0);
});

test('DockerRunner says in one line when it cannot remove a container, and what removes it', {
  skip: noEngine,
}, async () => {
  await buildEnvPluginImage(docker);
  // The runner reaches the engine through a socket that goes away mid-run, as an engine restarting would.
  const socketDir = mkdtempSync(path.join(tmpdir(), 'pod-engine-'));
  const socketPath = path.join(socketDir, 'docker.sock');
  const connections = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const engine = net.connect(DOCKER_SOCKET);
    for (const socket of [client, engine]) {
      connections.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => connections.delete(socket));
    }
    client.pipe(engine).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(socketPath, resolve));
  const warnings: string[] = [];
  const runner = new DockerRunner({
    dockerSocket: socketPath,
    network: 'host',
    memoryMiB: 128,
    cpus: 1,
    timeoutSeconds: 60,
    stopGraceSeconds: 1,
    log: { warn: (message: string) => warnings.push(message) },
  });
  const running = await runner.start(launchOf(TEST_IMAGE, 'sleep'));
  try {
    await new Promise<void>((resolve) => {
      proxy.close(() => resolve());
      for (const socket of connections) socket.destroy();
    });
    await running.exited;
    assert.equal(warnings.length, 1, warnings.join('\n'));
    const [warning = ''] = warnings;
    assert.match(
      warning,
      new RegExp(`^cannot remove container ${running.name} \\(.+\\); \`docker rm -f ${running.name}\``),
    );
    assert.doesNotMatch(warning, /\n/);
  } finally {
    await docker.getContainer(running.name).remove({ force: true });
    rmSync(socketDir, { recursive: true, force: true });
  }
});

test('DockerRunner without an engine: LaunchError failed, naming the socket', async () => {
  const runner = new DockerRunner({
    dockerSocket: '/nonexistent/docker.sock',
    network: 'host',
    memoryMiB: 64,
    cpus: 1,
    timeoutSeconds: 5,
  });
  await assert.rejects(runner.start(launchOf(TEST_IMAGE)), (error: unknown) => {
    assert.ok(error instanceof LaunchError, String(error));
    assert.equal(error.reason, 'failed');
    assert.match(error.message, /^no container engine at \/nonexistent\/docker\.sock/);
    return true;
  });
});
