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
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
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

/** The plugin folder `install` registers in: this test run's own, never the user's ~/.config. */
const PLUGIN_DIR = path.join(mkdtempSync(path.join(os.tmpdir(), 'pod-plugin-dir-')), 'plugins');
const podPlugin = (args: string[], cwd: string, input?: string) =>
  run(process.execPath, [CLI, ...args], cwd, { POD_PLUGIN_DIR: PLUGIN_DIR }, input);

/** `pod-plugin` started in the background: its output so far, and a wait for a pattern in it. */
function background(args: string[], cwd: string) {
  const env = { ...process.env, POD_PLUGIN_DIR: PLUGIN_DIR };
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const state = { output: '' };
  child.stdout.on('data', (chunk) => (state.output += chunk));
  child.stderr.on('data', (chunk) => (state.output += chunk));
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  const printed = async (pattern: RegExp): Promise<RegExpExecArray> => {
    for (const deadline = Date.now() + 30_000; ; await new Promise((resolve) => setTimeout(resolve, 50))) {
      const match = pattern.exec(state.output);
      if (match) return match;
      if (Date.now() > deadline) assert.fail(`no ${pattern} in 30 s; the output:\n${state.output}`);
    }
  };
  return { child, state, closed, printed };
}

test('pod-plugin --help names every command', async () => {
  const help = await ok(podPlugin(['--help'], KIT_DIR));
  for (const command of ['new', 'keys', 'install', 'run', 'answer', 'logs', 'abort', 'build'])
    assert.match(help, new RegExp(`^  ${command} `, 'm'));
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
    rmSync(path.dirname(PLUGIN_DIR), { recursive: true, force: true });
  });

  test('has the template files, its name and image, and links the Pod packages', () => {
    for (const file of [
      'package.json',
      'plugin.json',
      'tsconfig.json',
      'Dockerfile',
      '.dockerignore',
      '.gitignore',
      'README.md',
      'src/plugin.ts',
      'src/main.ts',
      'src/service.ts',
      'test/plugin.test.ts',
    ])
      assert.ok(existsSync(path.join(project, file)), file);
    assert.equal(manifest.name, 'demo-plugin');
    assert.equal(manifest.image, image);
    assert.match(readFileSync(path.join(project, '.gitignore'), 'utf8'), /^\.pod-dev-keys\.json$/m);
    assert.match(readFileSync(path.join(project, 'src/plugin.ts'), 'utf8'), /from '@pod\/plugin-kit'/);
    const { dependencies } = JSON.parse(readFileSync(path.join(project, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    assert.equal(path.resolve(project, dependencies['@pod/plugin-kit']!.replace(/^file:/, '')), path.resolve(KIT_DIR));
  });

  test('refuses to overwrite a directory that is not empty', async () => {
    const { code, output } = await podPlugin(['new', project], tmp);
    assert.equal(code, 1);
    assert.match(output, /exists and is not empty/);
  });

  test('installs and passes its own tests', async () => {
    await ok(run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], project));
    assert.ok(
      lstatSync(path.join(project, 'node_modules/@pod/client')).isSymbolicLink(),
      '@pod/client is linked, not downloaded',
    );
    assert.equal(realpathSync(path.join(project, 'node_modules/@pod/plugin-kit')), realpathSync(KIT_DIR));
    const output = await ok(run('npm', ['test'], project));
    assert.match(output, /ℹ pass 2\nℹ fail 0/);
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
    assert.match(
      installed,
      /^Plugin [0-9a-f]{32} \(pod-plugin-kit-test-\d+\) installed, Account [0-9a-f]{32} \(demo\)$/m,
    );
    const ran = await ok(podPlugin(['run', '--pod', pod.url], project));
    assert.match(ran, /status done, progress 1, launch exited/);
    assert.match(ran, /5 new of 5 posts/, "the plugin's own output, from the Pod's logs");

    const keys = JSON.parse(readFileSync(path.join(project, '.pod-dev-keys.json'), 'utf8')) as {
      ownerKey: string;
      databaseKey: string;
    };
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
      assert.match(output, /noRunner: .*\nthe Pod cannot start .*: `pod-plugin install` registers it/);
      assert.doesNotMatch(output, /--plugin-commands/, 'no hint that would drop the other plugins');
    } finally {
      await bare.close();
    }
  });

  test('install registers the plugin with a running Pod, which lists and launches it without a restart', async () => {
    const folder = path.join(tmp, 'fresh-plugin-dir');
    const watching = await startTestPod({ pluginDir: folder });
    try {
      const keys = JSON.parse(readFileSync(path.join(project, '.pod-dev-keys.json'), 'utf8')) as Record<string, string>;
      const owner = new PodClient({ url: watching.url, ...keys });
      assert.deepEqual(await owner.call('plugin_images', {}), [], 'nothing registered yet');
      const installed = await ok(podPlugin(['install', '--pod', watching.url, '--plugin-dir', folder], project));
      const file = path.join(folder, `${image}.json`);
      assert.match(installed, new RegExp(`registered ${image} for the process runner in ${file}`));
      assert.match(installed, new RegExp(`the Pod can launch ${image} \\(process runner\\): next, \`pod-plugin run\``));
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(folder).mode & 0o777, 0o700);
      const { command } = JSON.parse(readFileSync(file, 'utf8')) as { command: string[] };
      assert.deepEqual(command.slice(-2), ['--enable-source-maps', path.join(project, 'build/plugin.mjs')]);
      const ran = await ok(podPlugin(['run', '--pod', watching.url], project));
      assert.match(ran, /status done, progress 1, launch exited/);
      assert.match(ran, /5 new of 5 posts/);
    } finally {
      await watching.close();
    }
  });

  test('install against a Pod that cannot launch the plugin says the exact next step', async () => {
    const bare = await startTestPod();
    try {
      const installed = await ok(podPlugin(['install', '--pod', bare.url], project));
      const advice = `restart it once with \`--plugin-runner process\` \\(it reads ${PLUGIN_DIR}, where ${image} is registered\\)`;
      assert.match(installed, new RegExp(`the Pod cannot launch ${image} yet: ${advice}`));
      const remote = await ok(podPlugin(['install', '--pod', bare.url, '--no-register'], project));
      assert.doesNotMatch(remote, /registered/);
    } finally {
      await bare.close();
    }
  });

  test('a run carries its settings: run --config, checked against plugin.json, shown, read as this.config', async () => {
    const manifestFile = path.join(project, 'plugin.json');
    const original = readFileSync(manifestFile, 'utf8');
    const config = {
      max: { type: 'Integer', default: 10, description: 'posts at most' },
      label: { type: 'Text', default: 'demo' },
    };
    const folder = path.join(tmp, 'settings-plugin-dir');
    const configured = await startTestPod({ pluginDir: folder });
    try {
      writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(original), config }));
      const stale = await podPlugin(['run', '--pod', configured.url], project);
      assert.match(stale.output, /no Plugin for .* run `pod-plugin install` first/);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a line of the plugin's source, its template literal intended
      const line = '    console.log(`settings seen: ${JSON.stringify(this.config)}`);';
      await withRunStartingWith([line], async () => {
        await ok(podPlugin(['install', '--pod', configured.url, '--plugin-dir', folder], project));
        const ran = await ok(podPlugin(['run', '--pod', configured.url, '--config', 'max=3'], project));
        assert.match(ran, /^settings: max=3, label="demo" \(default\)\nrun [0-9a-f]{32} created/m);
        assert.match(ran, /settings seen: \{"max":3,"label":"demo"\}/);
        const refusals = [
          ['max=three', /setting "max" must be Integer, not "three"/],
          ['rogue=1', /setting "rogue" is not declared by the plugin \(it declares max, label\)/],
        ] as const;
        for (const [pair, refusal] of refusals) {
          const refused = await podPlugin(['run', '--pod', configured.url, '--config', pair], project);
          assert.equal(refused.code, 1);
          assert.match(refused.output, refusal);
          assert.doesNotMatch(refused.output, /created/, 'no run was created');
        }
        writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(original), config: { max: config.max } }));
        const changed = await podPlugin(['run', '--pod', configured.url], project);
        assert.match(
          changed.output,
          /plugin\.json's config changed since the Plugin was installed: run `pod-plugin install`/,
        );
      });
    } finally {
      writeFileSync(manifestFile, original);
      await configured.close();
    }
  });

  test('run shows what the plugin asks of its owner, message and URL; answer answers it, and a wrong code may be given again', async () => {
    const fixtures = path.join(KIT_DIR, 'dist/test/fixtures/plugins.js');
    const asking = await startTestPod({ commands: { [manifest.image]: ['node', fixtures, 'both-log-ins'] } });
    try {
      await ok(podPlugin(['install', '--pod', asking.url], project));
      const following = background(['run', '--pod', asking.url], project);
      const runId = (await following.printed(/run ([0-9a-f]{32}) created/))[1]!;
      const answer = (value: string, input?: string) =>
        ok(podPlugin(['answer', runId, value, '--pod', asking.url], project, input));

      const url = (await following.printed(/^ {4}open: +(\S+)$/m))[1]!;
      assert.match(
        following.state.output,
        /asks for access to the account.*\n.*message: Open the link to let this plugin use your demo account/,
      );
      assert.match(following.state.output, new RegExp(`answer: +pod-plugin answer ${runId} VALUE`));
      assert.equal(new URL(url).origin, 'https://auth.example.com');
      const state = new URL(url).searchParams.get('state');
      assert.match(
        await answer(`https://app.example.com/callback?code=good-code&state=${state}`),
        /answered the "oauth" request/,
      );

      await following.printed(/asks for the username and password of the account/);
      // the username as the argument, the password on stdin: it never shows in a process list
      assert.match(await answer('alice', 'hunter2\n'), /set the username and password on Account [0-9a-f]{32}/);

      await following.printed(/message: Enter the code we texted to \+31 6 ••• 42/);
      await answer('000000');
      await following.printed(/message: the service refused the code; try again \(attempt 2 of 3\): Enter the code/);
      await answer('123456');

      assert.equal(await following.closed, 0, following.state.output);
      assert.match(following.state.output, /status done, progress 1, launch exited/);
      const late = await podPlugin(['answer', runId, '123456', '--pod', asking.url], project);
      assert.equal(late.code, 1);
      assert.match(late.output, /asks nothing now \(status done\)/);
    } finally {
      await asking.close();
    }
  });

  /** Runs `body` with `lines` put at the start of the plugin's `run()`; gives it their first line number. */
  async function withRunStartingWith(lines: string[], body: (line: number) => Promise<void>): Promise<void> {
    const source = path.join(project, 'src/plugin.ts');
    const original = readFileSync(source, 'utf8');
    const code = original.split('\n');
    const at = code.findIndex((line) => line.includes('override async run()')) + 1;
    code.splice(at, 0, ...lines);
    writeFileSync(source, code.join('\n'));
    try {
      await body(at + 1);
    } finally {
      writeFileSync(source, original);
    }
  }

  test('one bundle with source maps for both kinds of run: run rebuilds it after a change, and a crash names the TypeScript line', async () => {
    const bundled = path.join(project, 'build/plugin.mjs');
    const crashing = await startTestPod({ commands: { [manifest.image]: ['node', '--enable-source-maps', bundled] } });
    try {
      await withRunStartingWith(["    throw new Error('crashed on purpose');"], async (line) => {
        const trace = new RegExp(`Error: crashed on purpose\\n\\s+at .*src/plugin\\.ts:${line}:\\d+`);
        // not registered: registering bundles first, and this is about `run` bundling
        await ok(podPlugin(['install', '--pod', crashing.url, '--no-register'], project));
        const simulated = await podPlugin(['run', '--simulate', '--pod', crashing.url], project);
        assert.equal(simulated.code, 1, simulated.output);
        assert.match(
          simulated.output,
          /src\/plugin\.ts changed since the last build: building again\nbundling src\/main\.ts into build\/plugin\.mjs\nbundled /,
        );
        assert.match(simulated.output, trace);

        const real = await podPlugin(['run', '--pod', crashing.url], project);
        assert.equal(real.code, 1, real.output);
        assert.doesNotMatch(real.output, /building again/, 'the bundle is up to date');
        assert.match(real.output, trace, 'the same bundle, run by the Pod');
        assert.match(real.output, /error: crashed on purpose/);
      });
    } finally {
      await crashing.close();
    }
  });

  test('run --simulate shows what the plugin asks too, and answer answers it', async () => {
    const bare = await startTestPod();
    const ask = [
      "    const code = await this.askOwner({ authRequest: '2fa', authMessage: 'Enter the code of the simulated run' },",
      '      (run) => run.authResponse ?? undefined, { pollMs: 50 });',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a line of the plugin's source, its template literal intended
      '    console.log(`the owner answered ${code}`);',
      '    return;',
    ];
    try {
      await withRunStartingWith(ask, async () => {
        await ok(podPlugin(['install', '--pod', bare.url], project));
        const following = background(['run', '--simulate', '--pod', bare.url], project);
        const runId = (await following.printed(/run ([0-9a-f]{32}) created; running build\/plugin\.mjs here/))[1]!;
        await following.printed(/message: Enter the code of the simulated run\n.*answer: +pod-plugin answer/);
        await ok(podPlugin(['answer', runId, '424242', '--pod', bare.url], project));
        assert.equal(await following.closed, 0, following.state.output);
        assert.match(following.state.output, /the owner answered 424242/);
        assert.match(following.state.output, new RegExp(`^run ${runId}: done$`, 'm'));
      });
    } finally {
      await bare.close();
    }
  });

  test('Ctrl-C and --timeout abort the run they started; logs and abort take a run id', async () => {
    const forever = [process.execPath, '-e', 'console.log("waiting for ever"); setInterval(() => {}, 1000)'];
    const hanging = await startTestPod({ commands: { [manifest.image]: forever } });
    try {
      await ok(podPlugin(['install', '--pod', hanging.url], project));
      const keys = JSON.parse(readFileSync(path.join(project, '.pod-dev-keys.json'), 'utf8')) as {
        ownerKey: string;
        databaseKey: string;
      };
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

      const child = spawn(process.execPath, [CLI, 'run', '--pod', hanging.url], {
        cwd: project,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
      const deadline = Date.now() + 30_000;
      while (!/launch started/.test(output) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      child.kill('SIGINT');
      assert.equal(await closed, 130, output);
      assert.match(output, /interrupted: aborting run/);
      await stopped(runIdIn(output)!);

      const plugin = await findInstalled(owner, manifest.image);
      const run = await createPluginRun(owner, plugin!, manifest.image);
      const printed = () => owner.call('plugin_run_logs', run.id).catch(() => '');
      for (const until = Date.now() + 30_000; !/waiting for ever/.test(await printed()) && Date.now() < until; )
        await new Promise((resolve) => setTimeout(resolve, 50));
      assert.match(await ok(podPlugin(['logs', run.id, '--pod', hanging.url], project)), /waiting for ever/);
      assert.match(
        await ok(podPlugin(['abort', run.id, '--pod', hanging.url], project)),
        new RegExp(`run ${run.id} aborted`),
      );
      await stopped(run.id);
    } finally {
      await hanging.close();
    }
  });

  test("its image is built and run by the Pod's Docker runner", { skip: noEngine }, async () => {
    const { code, output } = await run('docker', ['image', 'inspect', 'pod-plugin-node:base'], project).catch(
      (error: Error) => ({ code: -1, output: error.message }),
    );
    assert.equal(
      code,
      0,
      `no Docker engine or no pod-plugin-node:base (run .ci/setup-docker.sh, or set POD_TEST_DOCKER=0): ${output}`,
    );
    const docker = await startTestPod({ runner: 'docker' });
    try {
      const owner = new PodClient({ url: docker.url });
      assert.ok(!(await owner.call('plugin_images', {})).some((entry) => entry.image === image), 'not built yet');
      // built while the Pod runs: listed and launched at once, no registry and no restart
      await ok(podPlugin(['build'], project));
      const listed = (await owner.call('plugin_images', {})).filter((entry) => entry.image === image);
      assert.deepEqual(listed, [{ image, runner: 'docker' }]);
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
