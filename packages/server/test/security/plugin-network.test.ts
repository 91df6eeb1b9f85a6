/**
 * H2 of the first security review: a Docker plugin shared the host's network. Here a probe plugin,
 * started by a Pod with the docker runner on its default network, tries what the review did: a
 * service on the host's 127.0.0.1, another port of the address it reaches the Pod at, the host's
 * own address, the cloud metadata address, and listening on the Pod's port beside it. It must
 * reach none of them, and still reach the Pod's API through POD_FULL_ADDRESS.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { configWarnings, defaultConfig, PLUGIN_NETWORK } from '../../src/config.js';
import { Owner, declare, sleep, startPod, type RunningPod } from '../helpers.js';
import { buildProbe, docker, noEngine } from './docker.js';

const IMAGE = `pod-test-network-probe-${process.pid}`;

/** Tries each target, then listens on the Pod's port, calls the Pod, prints one JSON line, holds the port a while. */
const PROBE = `
import json, os, socket, time, urllib.error, urllib.parse, urllib.request
params = json.loads(json.loads(os.environ["POD_TARGET_ITEM"])["probe"])
pod = urllib.parse.urlsplit(os.environ["POD_FULL_ADDRESS"])
def reach(host, port):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.settimeout(3)
    try:
        s.connect((host, port))
        return "connected"
    except Exception as error:
        return type(error).__name__
    finally:
        s.close()
result = {"reached": {
    "host loopback service at 127.0.0.1": reach("127.0.0.1", params["loopbackPort"]),
    "host loopback service at the Pod's address": reach(pod.hostname, params["loopbackPort"]),
    "host service on another port of the Pod's address": reach(pod.hostname, params["wildcardPort"]),
    "host service at the host's own address": reach(params["hostAddress"], params["wildcardPort"]),
    "cloud metadata 169.254.169.254:80": reach("169.254.169.254", 80),
}}
held = []
for family, host in ((socket.AF_INET6, "::1"), (socket.AF_INET, "127.0.0.1")):
    s = socket.socket(family)
    try:
        s.bind((host, params["podPort"]))
        s.listen()
        held.append(s)
    except Exception:
        pass
request = urllib.request.Request(
    os.environ["POD_FULL_ADDRESS"] + "/v4/" + os.environ["POD_OWNER"] + "/get_item",
    data=json.dumps({"auth": {"type": "PluginAuth", **json.loads(os.environ["POD_AUTH_JSON"])}, "payload": os.environ["POD_PLUGINRUN_ID"]}).encode(),
    headers={"content-type": "application/json"},
)
try:
    with urllib.request.urlopen(request, timeout=10) as answer:
        result["api"] = answer.status
except urllib.error.HTTPError as error:
    result["api"] = str(error.code) + " " + error.read().decode()
except Exception as error:
    result["api"] = repr(error)
print("PROBE " + json.dumps(result), flush=True)
time.sleep(4)
`;

/** The host's own IPv4 address on its main interface (not loopback, not a docker bridge). */
function hostAddress(): string {
  for (const [name, addresses] of Object.entries(networkInterfaces()))
    for (const address of addresses ?? [])
      if (address.family === 'IPv4' && !address.internal && !/^(docker|br-|pod-|veth)/.test(name))
        return address.address;
  return '127.0.0.1';
}

const listen = (host: string) =>
  new Promise<Server>((resolve) => {
    const server = createServer((socket) => socket.end('host service\n'));
    server.listen(0, host, () => resolve(server));
  });

/** What answers `GET /` on host:port from this machine: the Pod says `{"pod":"Pod",…}`. */
async function whoAnswers(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port }, () =>
      socket.write(`GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    );
    let text = '';
    socket.setTimeout(3000, () => socket.destroy());
    socket.on('data', (chunk) => (text += chunk));
    socket.on('close', () =>
      resolve(text.includes('"pod":"Pod"') ? 'the Pod' : `something else: ${JSON.stringify(text.slice(0, 80))}`),
    );
    socket.on('error', (error) => resolve(`nothing (${error.message})`));
  });
}

describe('a Docker plugin on the default network', { skip: noEngine }, () => {
  let pod: RunningPod;
  let loopbackService: Server;
  let wildcardService: Server;
  before(async () => {
    await buildProbe(IMAGE, 'pod-plugin-python:base', 'probe.py', PROBE, 'python3');
    loopbackService = await listen('127.0.0.1');
    wildcardService = await listen('0.0.0.0');
    pod = await startPod({ plugins: { ...defaultConfig().plugins, runner: 'docker', timeoutSeconds: 60 } });
  });
  after(async () => {
    await pod?.close();
    loopbackService?.close();
    wildcardService?.close();
    await docker
      .getImage(IMAGE)
      .remove({ force: true })
      .catch(() => {});
  });

  test('reaches the Pod through POD_FULL_ADDRESS and nothing else of the host; cannot listen beside the Pod', async () => {
    assert.equal(defaultConfig().plugins.network, PLUGIN_NETWORK, 'plugins get a network of their own by default');
    const owner = new Owner(pod.url);
    await owner.ok('bulk', {
      createItems: [declare('probe', 'Text', 'PluginRun'), declare('status', 'Text', 'PluginRun')],
    });
    const podPort = Number(new URL(pod.url).port);
    const params = {
      loopbackPort: (loopbackService.address() as AddressInfo).port,
      wildcardPort: (wildcardService.address() as AddressInfo).port,
      hostAddress: hostAddress(),
      podPort,
    };
    const runId = await owner.create({ type: 'PluginRun', containerImage: IMAGE, probe: JSON.stringify(params) });

    let line: string | undefined;
    for (const deadline = Date.now() + 60_000; !line && Date.now() < deadline; await sleep(200)) {
      const run = await owner.get(runId);
      assert.ok(
        !['failed', 'imageMissing', 'exited'].includes(run.podLaunchStatus),
        `the probe ran: ${run.podLaunchStatus} ${run.podLaunchMessage}`,
      );
      const logs = await owner.call('plugin_run_logs', runId);
      line = logs.status === 200 ? /PROBE (.*)/.exec(String(logs.body))?.[1] : undefined;
    }
    assert.ok(line, 'the probe reported');
    const result = JSON.parse(line) as { reached: Record<string, string>; api: unknown };
    for (const [target, outcome] of Object.entries(result.reached))
      assert.notEqual(outcome, 'connected', `the plugin reached the ${target}`);
    assert.equal(
      result.api,
      200,
      `the plugin reaches the Pod's API at POD_FULL_ADDRESS (${JSON.stringify(result.api)})`,
    );
    // while the probe still holds whatever it could bind, this machine's clients still reach the Pod
    assert.equal(await whoAnswers('127.0.0.1', podPort), 'the Pod');
    assert.equal(
      await whoAnswers('::1', podPort),
      'the Pod',
      '[::1]:<Pod port> is the Pod, not a plugin listening beside it',
    );
  });
});

test('--plugin-network host is an explicit opt-in, warned about at start-up', () => {
  const defaults = defaultConfig();
  const dockerPod = { ...defaults, plugins: { ...defaults.plugins, runner: 'docker' as const } };
  assert.deepEqual(configWarnings(dockerPod), []);
  assert.match(
    configWarnings({ ...dockerPod, plugins: { ...dockerPod.plugins, network: 'host' } }).join('\n'),
    /--plugin-network host: plugins share the host's network/,
  );
});

test('where the Pod cannot firewall the network, no plugin starts on it, and the run says why', {
  skip: noEngine,
}, async () => {
  const network = `pod-nofw-${process.pid}`;
  const emptyPath = mkdtempSync(join(tmpdir(), 'pod-no-iptables-'));
  const path = process.env.PATH;
  process.env.PATH = emptyPath; // no iptables to be found
  let pod: RunningPod | undefined;
  try {
    pod = await startPod({ plugins: { ...defaultConfig().plugins, runner: 'docker', network, timeoutSeconds: 60 } });
    const owner = new Owner(pod.url);
    const runId = await owner.create({ type: 'PluginRun', containerImage: 'pod-plugin-python:base' });
    let run: any;
    for (const deadline = Date.now() + 30_000; !run?.podLaunchStatus && Date.now() < deadline; await sleep(100))
      run = await owner.get(runId);
    assert.equal(run.podLaunchStatus, 'failed');
    assert.match(run.podLaunchMessage, /cannot firewall the plugin network .*needs iptables/);
    assert.equal(
      (await docker.listContainers({ all: true, filters: { label: [`pod.run=${runId}`] } })).length,
      0,
      'no container was created',
    );

    process.env.PATH = path; // iptables is back: the next run sets the firewall up and starts
    const nextId = await owner.create({ type: 'PluginRun', containerImage: 'pod-plugin-python:base' });
    let next: any;
    for (
      const deadline = Date.now() + 30_000;
      !['exited', 'failed'].includes(next?.podLaunchStatus) && Date.now() < deadline;
      await sleep(100)
    )
      next = await owner.get(nextId);
    assert.equal(next.podLaunchStatus, 'exited', next.podLaunchMessage);
  } finally {
    process.env.PATH = path;
    await pod?.close();
    rmSync(emptyPath, { recursive: true, force: true });
    await docker
      .getNetwork(network)
      .remove()
      .catch(() => {});
    // the rules of the bridge that is gone
    const rules = execFileSync('iptables', ['-S'], { encoding: 'utf8' })
      .split('\n')
      .filter((rule) => rule.includes(` ${network} `) || rule.endsWith(` ${network}`));
    for (const rule of rules) execFileSync('iptables', ['-w', '-D', ...rule.replace(/^-A /, '').split(' ')]);
  }
});
