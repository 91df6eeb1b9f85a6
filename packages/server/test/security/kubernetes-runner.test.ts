/**
 * Attacks on the Kubernetes runner through a real Pod, whose runner talks to an API-server
 * STAND-IN (../kubernetes-standin.ts) that records every request: a plugin's manifest or PluginRun
 * cannot choose the namespace, image or service account of its Job, nor walk the API's paths with
 * its image name; and the run's credential and owner key travel only in the Secret, never in the
 * Job, the logs, the launch message or an error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ENV_PLUGIN } from '../../bench/plugin-start.js';
import { defaultConfig } from '../../src/config.js';
import { KubernetesRunner } from '../../src/plugins/kubernetes-runner.js';
import { Owner, type RunningPod, startPod, until } from '../helpers.js';
import { KubernetesStandIn } from '../kubernetes-standin.js';

const IMAGE = 'pod-test-env-plugin';
const NAMESPACE = 'pod-plugins';
type Json = Record<string, any>;

describe('the Kubernetes runner under attack (API-server stand-in)', () => {
  const standIn = new KubernetesStandIn({ [IMAGE]: [process.execPath, ENV_PLUGIN] });
  let pod: RunningPod;
  let owner: Owner;

  before(async () => {
    await standIn.start();
    const plugins = defaultConfig().plugins;
    // the policy's address only; the plugin (a local process here) gets the Pod's own address
    const runner = new KubernetesRunner({
      ...plugins,
      podAddress: 'http://10.1.2.3:3030',
      kubeConfig: standIn.kubeConfig(NAMESPACE),
      kubernetes: { ...plugins.kubernetes, namespace: NAMESPACE },
      stopGraceSeconds: 1,
      pollMs: 20,
    });
    pod = await startPod({ plugins }, { runner });
    owner = new Owner(pod.url);
    await owner.declare(
      ['status', 'Text'],
      ['namespace', 'Text'],
      ['serviceAccountName', 'Text'],
      ['image', 'Text'],
      ['hostNetwork', 'Text'],
    );
  });
  after(async () => {
    await pod.close();
    await standIn.close();
  });

  const launched = (runId: string) =>
    until(`the launch record of ${runId}`, async () => {
      const run = await owner.get(runId);
      return run.podLaunchStatus && run.podLaunchStatus !== 'queued' ? run : undefined;
    });
  const jobsSent = () => standIn.requests.filter((each) => each.method === 'POST' && each.path.endsWith('/jobs'));

  test('a Plugin or PluginRun naming a namespace, image, service account or host network gets none of them (API-server stand-in)', async () => {
    const wishes = {
      namespace: 'kube-system',
      serviceAccountName: 'cluster-admin',
      image: 'evil/escalate:latest',
      hostNetwork: 'true',
    };
    await owner.ok('bulk', {
      createItems: [
        { type: 'Plugin', id: 'plugin-k8s', containerImage: IMAGE, permissions: '{}', ...wishes },
        { type: 'PluginRun', id: 'run-wishes', containerImage: IMAGE, status: 'created', ...wishes },
      ],
      createEdges: [{ _source: 'run-wishes', _target: 'plugin-k8s', _name: 'plugin' }],
    });
    const run = await launched('run-wishes');
    assert.equal(run.podLaunchStatus, 'started', run.podLaunchMessage);

    const [request] = jobsSent();
    assert.ok(request, 'no Job was created');
    assert.equal(request.path, `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`);
    for (const each of standIn.requests)
      assert.match(
        each.path,
        new RegExp(`/namespaces/${NAMESPACE}/`),
        `${each.method} ${each.path} left the namespace`,
      );
    const job = request.body as Json;
    const spec = job.spec.template.spec;
    assert.equal(spec.containers[0].image, IMAGE);
    assert.equal(spec.serviceAccountName, undefined);
    assert.equal(spec.serviceAccount, undefined);
    assert.equal(spec.automountServiceAccountToken, false);
    assert.equal(spec.hostNetwork, undefined);
    const text = JSON.stringify(job);
    for (const wish of Object.values(wishes).filter((wish) => wish !== 'true'))
      assert.ok(!text.includes(wish), `the Job carries ${wish}`);
  });

  test('an image name that would walk the API path or name another namespace reaches no API (API-server stand-in)', async () => {
    const before = jobsSent().length;
    for (const containerImage of [
      '../../../api/v1/namespaces/kube-system/secrets',
      'kube-system/x?namespace=kube-system',
    ]) {
      const runId = await owner.create({ type: 'PluginRun', containerImage, status: 'created' });
      const run = await launched(runId);
      assert.equal(run.podLaunchStatus, 'imageMissing', run.podLaunchMessage);
    }
    assert.equal(jobsSent().length, before, 'a Job was created for an image that is no image name');
    for (const each of standIn.requests) assert.doesNotMatch(each.path, /kube-system/);
  });

  test("the credential and owner key travel only in the Secret: not in the Job, logs, launch message or the Pod's answers (API-server stand-in)", async () => {
    const runId = await owner.create({ type: 'PluginRun', containerImage: IMAGE, status: 'created' });
    const run = await launched(runId);
    assert.equal(run.podLaunchStatus, 'started', run.podLaunchMessage);
    const secretRequest = standIn.requests.find(
      (each) =>
        each.method === 'POST' &&
        each.path.endsWith('/secrets') &&
        Buffer.from((each.body as Json).data.POD_PLUGINRUN_ID, 'base64').toString() === runId,
    );
    assert.ok(secretRequest, 'no Secret holds the run');
    const data = (secretRequest.body as Json).data as Record<string, string>;
    const decode = (key: string) => Buffer.from(data[key] ?? '', 'base64').toString('utf8');
    const token: string = JSON.parse(decode('POD_AUTH_JSON')).data.token;
    assert.ok(token.length >= 16);
    assert.equal(decode('POD_OWNER'), owner.owner);

    const forms = (secret: string) => [secret, Buffer.from(secret).toString('base64')];
    for (const each of standIn.requests) {
      if (each === secretRequest) continue;
      const sent = `${each.path}?${each.query} ${JSON.stringify(each.body ?? '')}`;
      for (const form of [...forms(token), ...forms(owner.key)])
        assert.ok(!sent.includes(form), `${each.method} ${each.path} carries the credential`);
      assert.ok(!sent.includes(owner.owner), `${each.method} ${each.path} carries the owner key`);
    }

    // the plugin prints its token; the run's logs, read through the API, show it masked
    const final = await until('the run has ended', async () => {
      const item = await owner.get(runId);
      return item.podLaunchStatus === 'exited' ? item : undefined;
    });
    const logs: string = await owner.ok('plugin_run_logs', runId);
    assert.match(logs, /auth token \*\*\*/);
    for (const text of [logs, JSON.stringify(final)])
      assert.ok(!text.includes(token), 'the credential reached the owner');
  });
});
