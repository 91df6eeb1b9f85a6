/**
 * What the Kubernetes runner sends the API server, read off the requests an API-server STAND-IN
 * (kubernetes-standin.ts) recorded: the Job, its Secret, the NetworkPolicy, deletion, logs, and
 * the runner's messages when the API server is away or refuses. No cluster is involved: the shared
 * runner suite (runners.test.ts) runs the same runner on a real cluster with POD_TEST_KUBECONFIG.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ENV_PLUGIN } from '../bench/plugin-start.js';
import { defaultConfig, ownerHash } from '../src/config.js';
import { DEADLINE_MARGIN_SECONDS, KubernetesRunner, jobName } from '../src/plugins/kubernetes-runner.js';
import { LaunchError, pluginEnvironment, type PluginLaunch } from '../src/plugins/runner.js';
import { KubernetesStandIn } from './kubernetes-standin.js';
import { until } from './helpers.js';

const IMAGE = 'registry.example:5000/team/env-plugin:1.0';
const NAMESPACE = 'pod-plugins';
type Json = Record<string, any>;

function launchOf(mode?: 'sleep' | 'exit3'): PluginLaunch & { token: string; ownerKey: string } {
  const ownerKey = randomBytes(32).toString('hex');
  const token = randomBytes(16).toString('hex');
  const runId = `run-${randomBytes(6).toString('hex')}`;
  const env = pluginEnvironment({
    podAddress: 'http://10.1.2.3:3030',
    ownerKey,
    runId,
    targetItemJson: JSON.stringify({ id: runId, type: 'PluginRun' }),
    authJson: JSON.stringify({ type: 'PluginAuth', data: { token } }),
  });
  if (mode) env.PLUGIN_MODE = mode;
  return {
    ownerHash: ownerHash(ownerKey),
    runId,
    containerImage: IMAGE,
    env,
    secrets: [token],
    webserverPort: 8123,
    token,
    ownerKey,
  };
}

describe('KubernetesRunner requests (API-server stand-in)', () => {
  const standIn = new KubernetesStandIn({ [IMAGE]: [process.execPath, ENV_PLUGIN] });
  let runner: KubernetesRunner;
  const options = () => ({
    ...defaultConfig().plugins,
    podAddress: 'http://10.1.2.3:3030',
    kubernetes: { ttlSeconds: 900, namespace: NAMESPACE },
    memoryMiB: 300,
    cpus: 0.5,
    tmpMiB: 32,
    timeoutSeconds: 120,
    stopGraceSeconds: 1,
    kubeConfig: standIn.kubeConfig(NAMESPACE),
    instance: 'instance-a',
    pollMs: 20,
  });
  before(async () => {
    await standIn.start();
    runner = new KubernetesRunner(options());
  });
  after(async () => {
    await runner.close();
    await standIn.close();
  });

  test('a Job per run: labels, limits, deadline, TTL, no credential literal, the environment from a Secret the Job owns (API-server stand-in)', async () => {
    const launch = launchOf('sleep');
    const plugin = await runner.start(launch);
    const name = jobName(launch);
    assert.equal(plugin.name, name);

    const [jobRequest] = standIn.sent('POST', `/namespaces/${NAMESPACE}/jobs`);
    const job = jobRequest?.body as Json;
    assert.ok(job, 'no Job was created in the configured namespace');
    const jobText = JSON.stringify(job);
    for (const secret of [launch.token, launch.ownerKey, launch.env.POD_AUTH_JSON ?? ''])
      assert.ok(!jobText.includes(secret), 'a credential is a literal in the Job');
    assert.ok(!jobText.includes(Buffer.from(launch.token).toString('base64')), 'a credential is encoded in the Job');

    const labels = {
      'app.kubernetes.io/managed-by': 'pod',
      'app.kubernetes.io/component': 'plugin',
      'pod.instance': 'instance-a',
      'pod.owner': launch.ownerHash.slice(0, 32),
      'pod.run': launch.runId,
      'pod.job': name,
    };
    assert.deepEqual(job.metadata.labels, labels);
    assert.deepEqual(job.spec.template.metadata.labels, labels);
    assert.equal(job.metadata.annotations['pod.owner'], launch.ownerHash);
    assert.equal(job.metadata.annotations['pod.image'], IMAGE);
    assert.equal(job.spec.activeDeadlineSeconds, 120 + DEADLINE_MARGIN_SECONDS);
    assert.equal(job.spec.ttlSecondsAfterFinished, 900);
    assert.equal(job.spec.backoffLimit, 0);

    const pod = job.spec.template.spec;
    assert.equal(pod.automountServiceAccountToken, false, 'the plugin would get a token of the cluster');
    assert.equal(pod.serviceAccountName, undefined);
    assert.equal(pod.enableServiceLinks, false);
    assert.equal(pod.restartPolicy, 'Never');
    assert.deepEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65534,
      runAsGroup: 65534,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.equal(pod.containers.length, 1);
    const [container] = pod.containers;
    assert.equal(container.image, IMAGE);
    assert.deepEqual(container.resources, {
      requests: { memory: '300Mi', cpu: '500m' },
      limits: { memory: '300Mi', cpu: '500m' },
    });
    assert.deepEqual(container.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    assert.deepEqual(pod.volumes, [{ name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '32Mi' } }]);

    // every variable of the launch comes from the Secret; only where to listen is literal
    const env = container.env as Json[];
    for (const key of Object.keys(launch.env))
      assert.deepEqual(
        env.find((each) => each.name === key),
        { name: key, valueFrom: { secretKeyRef: { name, key } } },
      );
    assert.deepEqual(
      env.filter((each) => 'value' in each),
      [
        { name: 'POD_WEBSERVER_HOST', value: '0.0.0.0' },
        { name: 'POD_WEBSERVER_PORT', value: '8123' },
      ],
    );

    const [secretRequest] = standIn.sent('POST', `/namespaces/${NAMESPACE}/secrets`);
    const secret = secretRequest?.body as Json;
    assert.equal(secret.metadata.name, name);
    assert.equal(secret.immutable, true);
    assert.deepEqual(
      secret.metadata.ownerReferences.map((owner: Json) => [owner.kind, owner.name, owner.blockOwnerDeletion]),
      [['Job', name, true]],
    );
    // the stand-in gave the Job its uid on the recorded object itself
    assert.equal(secret.metadata.ownerReferences[0].uid, job.metadata.uid, "the Secret is not owned by the Job's uid");
    const decoded = Object.fromEntries(
      Object.entries(secret.data as Record<string, string>).map(([key, value]) => [
        key,
        Buffer.from(value, 'base64').toString('utf8'),
      ]),
    );
    assert.deepEqual(decoded, launch.env);

    // the web server is the pod's address at the run's port
    assert.deepEqual(await plugin.webServer(), { host: '127.0.0.1', port: 8123 });
    // logs through the API
    await until('the plugin prints', async () => (await plugin.logs()).includes('sleeping') || undefined);
    assert.ok(standIn.sent('GET', '/log').length > 0, 'the logs were not read through the API');

    // abort: the Job is deleted, in the foreground, and its Secret goes with it
    await plugin.stop();
    const [deletion] = standIn.sent('DELETE', `/namespaces/${NAMESPACE}/jobs/${name}`);
    assert.ok(deletion, 'the Job was not deleted');
    const propagation =
      deletion.query.get('propagationPolicy') ?? (deletion.body as Json | undefined)?.propagationPolicy;
    assert.equal(propagation, 'Foreground');
    // the exit code may be lost with the Pod (null); how the run ended is not
    const exit = await plugin.exited;
    assert.equal(exit.stopped, true);
    assert.equal(exit.timedOut, false);
    assert.notEqual(exit.exitCode, 0);
    assert.equal(standIn.leftovers(launch.runId), 0);
    assert.equal(standIn.secretCount, 0, 'the Secret outlived its Job');
    assert.match(await plugin.logs(), /sleeping/, 'the logs outlive the run');
  });

  test('one NetworkPolicy, in place before the first Job: egress to the Pod and DNS only, ingress from the Pod only (API-server stand-in)', async () => {
    const policies = standIn.sent('POST', `/namespaces/${NAMESPACE}/networkpolicies`);
    assert.equal(policies.length, 1);
    const firstPolicy = standIn.requests.indexOf(policies[0]!);
    const firstJob = standIn.requests.findIndex((each) => each.method === 'POST' && each.path.endsWith('/jobs'));
    assert.ok(firstPolicy < firstJob, 'a Job was created before its NetworkPolicy');
    const policy = policies[0]?.body as Json;
    assert.equal(policy.metadata.name, 'pod-plugins-instance-a');
    assert.deepEqual(policy.spec.podSelector, {
      matchLabels: {
        'app.kubernetes.io/managed-by': 'pod',
        'app.kubernetes.io/component': 'plugin',
        'pod.instance': 'instance-a',
      },
    });
    assert.deepEqual(policy.spec.policyTypes, ['Ingress', 'Egress']);
    assert.deepEqual(policy.spec.ingress, [{ from: [{ ipBlock: { cidr: '10.1.2.3/32' } }] }]);
    assert.deepEqual(policy.spec.egress, [
      { to: [{ ipBlock: { cidr: '10.1.2.3/32' } }], ports: [{ protocol: 'TCP', port: 3030 }] },
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          },
        ],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
    ]);

    // a later Pod of the same instance puts it back as it should be rather than failing
    const next = new KubernetesRunner({ ...options(), podAddress: 'http://10.9.9.9:4040' });
    const plugin = await next.start(launchOf('exit3'));
    assert.equal((await plugin.exited).exitCode, 3);
    const [replaced] = standIn.sent('PUT', `/namespaces/${NAMESPACE}/networkpolicies/pod-plugins-instance-a`);
    assert.ok(replaced, 'the NetworkPolicy was not replaced');
    assert.deepEqual((replaced.body as Json).spec.ingress, [{ from: [{ ipBlock: { cidr: '10.9.9.9/32' } }] }]);
    await next.close();
  });

  test('removeLeftovers deletes the Jobs of an earlier Pod of the same instance only (API-server stand-in)', async () => {
    const launch = launchOf('sleep');
    await runner.start(launch); // its Pod "crashes": nothing stops it
    assert.equal(await new KubernetesRunner({ ...options(), instance: 'instance-b' }).removeLeftovers(), 0);
    assert.equal(standIn.leftovers(launch.runId), 1);
    assert.equal(await new KubernetesRunner(options()).removeLeftovers(), 1);
    await until('the Job is gone', async () => standIn.leftovers(launch.runId) === 0 || undefined);
  });

  test('an API server that refuses and echoes the request back: LaunchError failed, no credential in it, nothing left (API-server stand-in)', async () => {
    for (const kind of ['jobs', 'secrets']) {
      standIn.failure = (request) =>
        request.method === 'POST' && request.path.endsWith(`/${kind}`)
          ? { status: 422, body: { kind: 'Status', message: `refused ${JSON.stringify(request.body)}`, code: 422 } }
          : undefined;
      const launch = launchOf();
      try {
        await assert.rejects(runner.start(launch), (error: unknown) => {
          assert.ok(error instanceof LaunchError, String(error));
          assert.equal(error.reason, 'failed');
          assert.match(error.message, new RegExp(`^cannot create ${kind === 'jobs' ? 'Job' : 'Secret'} pod-`));
          assert.match(error.message, /\(HTTP 422\)$/);
          assert.doesNotMatch(error.message, /Headers|HTTP-Code/, 'the client exception text was passed on');
          for (const secret of [launch.token, launch.ownerKey])
            for (const form of [secret, Buffer.from(secret).toString('base64')])
              assert.ok(!error.message.includes(form), `a credential reached the message: ${error.message}`);
          return true;
        });
      } finally {
        standIn.failure = undefined;
      }
      if (kind === 'secrets')
        assert.ok(standIn.sent('DELETE', `/jobs/${jobName(launch)}`).length > 0, 'the Job of a failed launch was kept');
      await until(
        'the Job of the failed launch is gone',
        async () => standIn.leftovers(launch.runId) === 0 || undefined,
      );
    }
  });

  test('an image the cluster cannot pull is imageMissing and its Job is deleted (API-server stand-in)', async () => {
    const launch = { ...launchOf(), containerImage: 'pod-test-not-here:1' };
    await assert.rejects(runner.start(launch), (error: unknown) => {
      assert.ok(error instanceof LaunchError);
      assert.equal(error.reason, 'imageMissing');
      assert.match(error.message, /^the cluster cannot pull image pod-test-not-here:1 \(ErrImagePull/);
      return true;
    });
    assert.equal(standIn.leftovers(launch.runId), 0);
  });

  test('no API server: LaunchError failed naming where it looked, and ping rejects (API-server stand-in)', async () => {
    const away = new KubernetesStandIn({});
    await away.start();
    const kubeConfig = away.kubeConfig(NAMESPACE);
    const url = away.url;
    await away.close();
    const lost = new KubernetesRunner({ ...options(), kubeConfig });
    await assert.rejects(lost.start(launchOf()), (error: unknown) => {
      assert.ok(error instanceof LaunchError, String(error));
      assert.equal(error.reason, 'failed');
      assert.equal(
        error.message,
        `cannot set up NetworkPolicy pod-plugins-instance-a: no Kubernetes API server answers at ${url} (ECONNREFUSED)`,
      );
      return true;
    });
    await assert.rejects(lost.ping(), /no Kubernetes API server answers/);
  });
});
