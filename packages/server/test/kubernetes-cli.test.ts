/**
 * `pod --plugin-runner kubernetes` as an operator starts it: the settings it refuses, and a Pod
 * configured from flags and environment that reaches its API server (an API-server STAND-IN,
 * kubernetes-standin.ts, through a kubeconfig file) for /readyz and for the leftovers of a crash.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { cliPath, startCli, stopCli, toReply, until } from './helpers.js';
import { KubernetesStandIn } from './kubernetes-standin.js';

const scratch = mkdtempSync(join(tmpdir(), 'pod-kubernetes-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const run = (args: string[]) =>
  spawnSync(process.execPath, [cliPath(), '--data-dir', join(scratch, 'refused'), ...args], {
    encoding: 'utf8',
    timeout: 20_000,
  });

describe('pod --plugin-runner kubernetes', () => {
  test('--help lists the kubernetes flags with their environment variables', () => {
    const help = spawnSync(process.execPath, [cliPath(), '--help'], { encoding: 'utf8', timeout: 20_000 }).stdout;
    for (const [flag, variable] of [
      ['--kubeconfig', 'POD_KUBECONFIG'],
      ['--kubernetes-namespace', 'POD_KUBERNETES_NAMESPACE'],
      ['--kubernetes-pod-cidr', 'POD_KUBERNETES_POD_CIDR'],
      ['--kubernetes-ttl', 'POD_KUBERNETES_TTL'],
    ]) {
      assert.match(help, new RegExp(`${flag}\\b`), flag);
      assert.match(help, new RegExp(`env:\\s+${variable}\\b`), variable);
    }
  });

  test("refuses to start without the Pod's address as the cluster sees it, saying which flag", () => {
    for (const [args, message] of [
      [[], /--plugin-runner kubernetes needs --plugin-pod-address/],
      [['--plugin-pod-address', 'http://pod.example:3030'], /names the host pod\.example: give --kubernetes-pod-cidr/],
      [['--plugin-pod-address', 'ftp://10.0.0.5'], /must be an http or https URL/],
      [
        ['--plugin-pod-address', 'http://10.0.0.5:3030', '--kubernetes-pod-cidr', '10.0.0.0/99'],
        /--kubernetes-pod-cidr 10\.0\.0\.0\/99 is not an address block/,
      ],
    ] as const) {
      const result = run(['--plugin-runner', 'kubernetes', ...args]);
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, message);
    }
  });

  test('configured from flags and environment, it reaches its API server for /readyz and leftovers, and says what to check when it is away (API-server stand-in)', async () => {
    const standIn = new KubernetesStandIn({});
    await standIn.start();
    // closed whatever happens: its open server would keep this test's process alive
    try {
      const kubeconfig = join(scratch, 'kubeconfig.yaml');
      writeFileSync(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters:',
          // plain HTTP on loopback: the client allows it only with the TLS check off
          `- cluster: {server: "${standIn.url}", insecure-skip-tls-verify: true}`,
          '  name: stand-in',
          'users:',
          '- name: stand-in',
          '  user: {token: stand-in-token}',
          'contexts:',
          '- context: {cluster: stand-in, user: stand-in, namespace: from-context}',
          '  name: stand-in',
          'current-context: stand-in',
          '',
        ].join('\n'),
      );
      // from the environment, which the child inherits
      process.env.POD_KUBECONFIG = kubeconfig;
      const pod = await startCli(
        join(scratch, 'data'),
        [
          '--plugin-runner',
          'kubernetes',
          '--plugin-pod-address',
          'http://10.0.0.5:3030',
          '--kubernetes-namespace',
          'pods',
          // the runner loads its client at start-up to look for leftovers: seconds on a busy machine
        ],
        60_000,
      ).finally(() => delete process.env.POD_KUBECONFIG);
      try {
        // ready once the runner has loaded its client (seconds on a busy machine) and reached the API server
        let last = '';
        await until(
          '/readyz answers 200',
          async () => {
            const ready = await toReply(await fetch(`${pod.url}/readyz`));
            last = ready.text;
            return ready.status === 200 || undefined;
          },
          60_000,
        ).catch((error: Error) => assert.fail(`${error.message}: ${last}`));
        const pings = standIn.sent('GET', '/apis/batch/v1/namespaces/pods/jobs');
        assert.ok(
          pings.some((each) => each.query.get('limit') === '1'),
          'the readiness probe did not ask the API server',
        );
        assert.ok(
          pings.some((each) => /^pod\.instance=[0-9a-f]{16}$/.test(each.query.get('labelSelector') ?? '')),
          'the Pod did not look for Jobs a crashed predecessor left',
        );
        assert.ok(
          !standIn.requests.some((each) => each.path.includes('from-context')),
          '--kubernetes-namespace was ignored',
        );

        await standIn.close();
        const away = await toReply(await fetch(`${pod.url}/readyz`));
        assert.equal(away.status, 503, away.text);
        assert.match(
          away.body.checks.runner,
          /^the kubernetes plugin runner does not answer \(cannot list Jobs in pods: no Kubernetes API server answers at http:\/\/127\.0\.0\.1:\d+\/? \(ECONNREFUSED\)\): check that the API server runs/,
        );
      } finally {
        await stopCli(pod);
      }
    } finally {
      await standIn.close();
    }
  });
});
