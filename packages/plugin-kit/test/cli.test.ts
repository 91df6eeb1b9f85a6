/**
 * `pod-plugin` and its template, as a plugin author uses them: a new project installs (the Pod's
 * packages linked with file: paths, nothing of them from a registry), passes its own tests, gets
 * keys, is bundled, installed in a Pod and run there — by the Pod's runner and simulated in
 * process. Then the container image, through the Pod's Docker runner: that part needs an engine
 * and the base images (.ci/setup-docker.sh): without an engine it is skipped saying so (required
 * under CI=true); POD_TEST_DOCKER=0 skips it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Account, Message, PodClient } from '@pod/client';
import { dockerTestSkip } from '@pod/server';
import { createPluginRun, findInstalled, installPlugin, readManifest, waitForRun } from '../src/index.js';
import { startTestPod, type TestPod } from '../src/testing.js';
import { ok, run } from './commands.js';
import { KIT_DIR } from './helpers.js';

const noEngine = await dockerTestSkip();

const CLI = path.join(KIT_DIR, 'dist/src/cli.js');

const podPlugin = (args: string[], cwd: string) => run(process.execPath, [CLI, ...args], cwd);

test('pod-plugin --help names every command', async () => {
  const help = await ok(podPlugin(['--help'], KIT_DIR));
  for (const command of ['new', 'keys', 'install', 'run', 'logs', 'abort', 'build']) assert.match(help, new RegExp(`^  ${command} `, 'm'));
});

describe('a project made by pod-plugin new', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pod-plugin-new-'));
  const project = path.join(tmp, 'demo-plugin');
  // an image name of this test run's own: parallel runs never share a Docker tag
  const image = `pod-plugin-kit-test-${process.pid}`;
  let pod: TestPod;
  let manifest: ReturnType<typeof readManifest>;

  before(async () => {
    await ok(podPlugin(['new', project, '--image', image], tmp));
    manifest = readManifest(project);
  });
  after(async () => {
    await pod?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('has the template files, its name and image, and links the Pod packages', () => {
    for (const file of ['package.json', 'plugin.json', 'tsconfig.json', 'Dockerfile', '.dockerignore', '.gitignore', 'README.md', 'src/plugin.ts', 'src/main.ts', 'src/service.ts', 'test/plugin.test.ts'])
      assert.ok(existsSync(path.join(project, file)), file);
    assert.equal(manifest.name, 'demo-plugin');
    assert.equal(manifest.image, image);
    assert.match(readFileSync(path.join(project, '.gitignore'), 'utf8'), /^\.pod-dev-keys\.json$/m);
    assert.match(readFileSync(path.join(project, 'src/plugin.ts'), 'utf8'), /from '@pod\/plugin-kit'/);
    const { dependencies } = JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.equal(path.resolve(project, dependencies['@pod/plugin-kit']!.replace(/^file:/, '')), path.resolve(KIT_DIR));
  });

  test('refuses to overwrite a directory that is not empty', async () => {
    const { code, output } = await podPlugin(['new', project], tmp);
    assert.equal(code, 1);
    assert.match(output, /exists and is not empty/);
  });

  test('installs and passes its own tests', async () => {
    await ok(run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], project));
    assert.ok(lstatSync(path.join(project, 'node_modules/@pod/client')).isSymbolicLink(), '@pod/client is linked, not downloaded');
    assert.equal(realpathSync(path.join(project, 'node_modules/@pod/plugin-kit')), realpathSync(KIT_DIR));
    const output = await ok(run('npm', ['test'], project));
    // node's summary: TAP (`# pass`) on Node 22 without a terminal, spec (`ℹ pass`) on Node 24
    assert.match(output, /[#ℹ] pass 2\n[#ℹ] fail 0/);
  });

  test('keys: an owner and a database key, readable by their owner only, kept on a second call', async () => {
    const first = await ok(podPlugin(['keys'], project));
    assert.match(first, /new keys in .*\.pod-dev-keys\.json/);
    const file = path.join(project, '.pod-dev-keys.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const keys = JSON.parse(readFileSync(file, 'utf8')) as { ownerKey: string; databaseKey: string };
    assert.match(keys.ownerKey, /^[0-9a-f]{64}$/);
    assert.match(keys.databaseKey, /^[0-9a-f]{64}$/);
    assert.match(await ok(podPlugin(['keys'], project)), /keeping the keys/);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), keys);
  });

  test('is bundled into one file, installed, and run by the Pod and in process', async () => {
    await ok(podPlugin(['build', '--no-docker'], project));
    const bundled = path.join(project, 'build/plugin.mjs');
    assert.ok(existsSync(bundled));
    pod = await startTestPod({ commands: { [manifest.image]: ['node', bundled] } });

    const installed = await ok(podPlugin(['install', '--pod', pod.url], project));
    assert.match(installed, /^Plugin [0-9a-f]{32} \(pod-plugin-kit-test-\d+\) installed, Account [0-9a-f]{32} \(demo\)$/m);
    const ran = await ok(podPlugin(['run', '--pod', pod.url], project));
    assert.match(ran, /status done, progress 1, launch exited/);
    assert.match(ran, /5 new of 5 posts/, 'the plugin\'s own output, from the Pod\'s logs');

    const keys = JSON.parse(readFileSync(path.join(project, '.pod-dev-keys.json'), 'utf8')) as { ownerKey: string; databaseKey: string };
    const owner = new PodClient({ url: pod.url, ...keys });
    assert.equal((await owner.search(Message)).length, 5);

    const simulated = await ok(podPlugin(['run', '--simulate', '--pod', pod.url], project));
    assert.match(simulated, /0 new of 1 posts since 2024-01-05/);
    assert.match(simulated, /^run [0-9a-f]{32}: done$/m);
    assert.equal((await owner.search(Account)).length, 4, 'three authors and the owner');
  });

  test('without a runner for its image, run says how to get one', async () => {
    const bare = await startTestPod();
    try {
      await ok(podPlugin(['install', '--pod', bare.url], project));
      const { code, output } = await podPlugin(['run', '--pod', bare.url], project);
      assert.equal(code, 1);
      assert.match(output, /noRunner: .*\n.*--plugin-runner process --plugin-commands/);
    } finally {
      await bare.close();
    }
  });

  test('Ctrl-C and --timeout abort the run they started; logs and abort take a run id', async () => {
    const forever = [process.execPath, '-e', 'console.log("waiting for ever"); setInterval(() => {}, 1000)'];
    const hanging = await startTestPod({ commands: { [manifest.image]: forever } });
    try {
      await ok(podPlugin(['install', '--pod', hanging.url], project));
      const keys = JSON.parse(readFileSync(path.join(project, '.pod-dev-keys.json'), 'utf8')) as { ownerKey: string; databaseKey: string };
      const owner = new PodClient({ url: hanging.url, ...keys });
      const runIdIn = (output: string) => /run ([0-9a-f]{32}) created/.exec(output)?.[1];
      const stopped = async (runId: string) => {
        const run = await waitForRun(owner, runId, { timeoutMs: 30_000 });
        assert.equal(run.status, 'aborted');
        assert.equal(run.podLaunchStatus, 'stopped');
      };

      const timedOut = await podPlugin(['run', '--pod', hanging.url, '--timeout', '2'], project);
      assert.equal(timedOut.code, 1, timedOut.output);
      assert.match(timedOut.output, /did not end within 2 s .*; the run was aborted/);
      await stopped(runIdIn(timedOut.output)!);

      const child = spawn(process.execPath, [CLI, 'run', '--pod', hanging.url], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
      const deadline = Date.now() + 30_000;
      while (!/launch started/.test(output) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      child.kill('SIGINT');
      assert.equal(await closed, 130, output);
      assert.match(output, /interrupted: aborting run/);
      await stopped(runIdIn(output)!);

      const plugin = await findInstalled(owner, manifest.image);
      const run = await createPluginRun(owner, plugin!, manifest.image);
      const printed = () => owner.call('plugin_run_logs', run.id).catch(() => '');
      for (const until = Date.now() + 30_000; !/waiting for ever/.test(await printed()) && Date.now() < until; ) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.match(await ok(podPlugin(['logs', run.id, '--pod', hanging.url], project)), /waiting for ever/);
      assert.match(await ok(podPlugin(['abort', run.id, '--pod', hanging.url], project)), new RegExp(`run ${run.id} aborted`));
      await stopped(run.id);
    } finally {
      await hanging.close();
    }
  });

  test('its image is built and run by the Pod\'s Docker runner', { skip: noEngine }, async () => {
    const { code, output } = await run('docker', ['image', 'inspect', 'pod-plugin-node:base'], project).catch((error: Error) => ({ code: -1, output: error.message }));
    assert.equal(code, 0, `no Docker engine or no pod-plugin-node:base (run .ci/setup-docker.sh, or set POD_TEST_DOCKER=0): ${output}`);
    const docker = await startTestPod({ runner: 'docker' });
    try {
      await ok(podPlugin(['build'], project));
      const owner = new PodClient({ url: docker.url });
      const { plugin } = await installPlugin(owner, manifest);
      const started = await createPluginRun(owner, plugin, image);
      const ended = await waitForRun(owner, started.id, { timeoutMs: 60_000, pollMs: 100 });
      assert.equal(ended.status, 'done', `${ended.error} / ${ended.podLaunchMessage}`);
      assert.equal((await owner.search(Message)).length, 5);
    } finally {
      await docker.close();
      await run('docker', ['rmi', '-f', image], project);
    }
  });
});
