/**
 * The new plugin author's whole way, driving the CLIs as child processes from a fresh clone of the
 * committed HEAD (issue 16's proof): the README's install step → `pod-plugin new` → the template's
 * tests → a Pod already running (the clone's `pod`, process runner) → `pod-plugin keys`, `install`
 * with no Pod restart → `pod-plugin run` of a plugin that asks for a 2FA code → `pod-plugin answer`
 * → `done`. The Pod and the kit share one configuration folder (XDG_CONFIG_HOME, this test's own),
 * so nothing is configured between them, as on a developer's machine.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort } from '@pod/server/testing';
import { canClone, freshClone } from './clone.js';
import { NO_REGISTRY, ok, run } from './commands.js';

/** A child process whose output the test follows. */
function follow(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const state = { output: '' };
  child.stdout.on('data', (chunk) => (state.output += chunk));
  child.stderr.on('data', (chunk) => (state.output += chunk));
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  const printed = async (pattern: RegExp, ms = 60_000): Promise<RegExpExecArray> => {
    for (const deadline = Date.now() + ms; ; await new Promise((resolve) => setTimeout(resolve, 50))) {
      const match = pattern.exec(state.output);
      if (match) return match;
      if (child.exitCode !== null || Date.now() > deadline) assert.fail(`no ${pattern}; the output:\n${state.output}`);
    }
  };
  return { child, state, closed, printed };
}

const JOURNEY = 'a new author: fresh clone → new → tests → install into a running Pod → a run asking a 2FA code → done';
test(JOURNEY, async (t) => {
  if (!canClone()) return t.skip('not a git checkout: nothing to clone');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pod-author-journey-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  // the Pod and pod-plugin default to $XDG_CONFIG_HOME/pod/plugins: this test's, not the user's
  const env = { ...NO_REGISTRY, XDG_CONFIG_HOME: path.join(tmp, 'config') };
  const clone = await freshClone(tmp);

  // the root README's set-up, then the plugin README's first commands
  await ok(run('npm', ['install'], clone, env));
  await ok(run('npx', ['pod-plugin', 'new', '../my-importer'], clone, env));
  const project = path.join(tmp, 'my-importer');
  const projectEnv = { XDG_CONFIG_HOME: env.XDG_CONFIG_HOME };
  await ok(run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], project, projectEnv));
  assert.match(await ok(run('npm', ['test'], project)), /ℹ pass 2\nℹ fail 0/);

  // a Pod already running, with the process runner and nothing else configured
  const port = await freePort();
  const podArgs = ['--port', String(port), '--data-dir', path.join(tmp, 'data'), '--plugin-runner', 'process'];
  // the bin npx would run, started directly so that stopping it stops the Pod (npm does not pass signals on)
  const pod = follow(path.join(clone, 'node_modules/.bin/pod'), podArgs, clone, env);
  t.after(async () => {
    if (pod.child.exitCode !== null) return;
    pod.child.kill('SIGTERM');
    await pod.closed;
  });
  const url = `http://127.0.0.1:${port}`;
  const answers = () =>
    fetch(`${url}/version`).then(
      (answer) => answer.ok,
      () => false,
    );
  for (const deadline = Date.now() + 30_000; !(await answers()); ) {
    if (pod.child.exitCode !== null || Date.now() > deadline)
      assert.fail(`the Pod did not start:\n${pod.state.output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const podPlugin = (args: string[]) => run('npx', ['pod-plugin', ...args, '--pod', url], project, env);

  // the author's plugin asks its owner for a 2FA code before importing
  const source = path.join(project, 'src/plugin.ts');
  const code = readFileSync(source, 'utf8').split('\n');
  const at = code.findIndex((line) => line.includes('override async run()')) + 1;
  code.splice(
    at,
    0,
    "    const code = await this.askOwner({ authRequest: '2fa', authMessage: 'Enter the code we texted you' },",
    '      (run) => run.authResponse ?? undefined, { pollMs: 50 });',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a line of the plugin's source, its template literal intended
    '    console.log(`logged in with code ${code}`);',
  );
  writeFileSync(source, code.join('\n'));

  await ok(run('npx', ['pod-plugin', 'keys'], project, env));
  const installed = await ok(podPlugin(['install']));
  assert.match(installed, /^Plugin [0-9a-f]{32} \(my-importer\) installed, Account [0-9a-f]{32} \(demo\)$/m);
  assert.match(installed, /the Pod can launch my-importer \(process runner\): next, `pod-plugin run`/);

  const running = follow('npx', ['pod-plugin', 'run', '--pod', url], project, env);
  const runId = (await running.printed(/run ([0-9a-f]{32}) created; waiting for the Pod to start my-importer/))[1]!;
  await running.printed(/message: Enter the code we texted you\n.*answer: +pod-plugin answer/);
  assert.match(await ok(podPlugin(['answer', runId, '424242'])), /answered the "2fa" request/);
  assert.equal(await running.closed, 0, running.state.output);
  assert.match(running.state.output, /status done, progress 1, launch exited/);
  assert.match(running.state.output, /logged in with code 424242/);
  assert.match(running.state.output, /5 new of 5 posts/);
  assert.equal(pod.child.exitCode, null, 'the Pod was never restarted');
});
