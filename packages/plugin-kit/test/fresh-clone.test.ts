/**
 * A new plugin author's first commands, from a fresh clone of this repository's committed HEAD:
 * the set-up's `npm install`, then the plugin README's `npx pod-plugin new ../my-importer`,
 * `cd ../my-importer && npm install && npm test`. `pod-plugin` and `pod` must come from the clone,
 * never from a registry: the commands that need nothing else run with the registry pointed at a
 * closed port, so any fetch fails loudly.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { NO_REGISTRY, ok, run } from './commands.js';
import { KIT_DIR } from './helpers.js';

const ROOT = path.resolve(KIT_DIR, '../..');

test('from a fresh clone, the README commands find pod-plugin and pod without any registry', async (t) => {
  if (!existsSync(path.join(ROOT, '.git'))) return t.skip('not a git checkout: nothing to clone');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pod-fresh-clone-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const clone = path.join(tmp, 'pod');
  const head = (await ok(run('git', ['rev-parse', 'HEAD'], ROOT))).trim();
  await ok(run('git', ['clone', '--quiet', '--no-checkout', ROOT, clone], tmp));
  await ok(run('git', ['checkout', '--quiet', '--detach', head], clone));

  // The installed dependencies, hard-linked rather than installed again (that compiles SQLCipher
  // for minutes): the clone's `npm install` then finds them in place, as the README's first
  // install leaves them, and still links the workspaces' bins itself — the two under test are
  // removed first, and nothing is built.
  for (const modules of ['node_modules', ...readdirSync(path.join(ROOT, 'packages')).map((name) => `packages/${name}/node_modules`)])
    if (existsSync(path.join(ROOT, modules))) await ok(run('cp', ['-al', path.join(ROOT, modules), path.join(clone, modules)], tmp));
  for (const bin of ['pod', 'pod-plugin']) rmSync(path.join(clone, 'node_modules/.bin', bin), { force: true });
  // the one file npm rewrites in place: a copy of its own, so that this repository's stays untouched
  const hiddenLockfile = path.join(clone, 'node_modules/.package-lock.json');
  if (existsSync(hiddenLockfile)) {
    rmSync(hiddenLockfile);
    copyFileSync(path.join(ROOT, 'node_modules/.package-lock.json'), hiddenLockfile);
  }
  assert.ok(!existsSync(path.join(clone, 'packages/plugin-kit/dist')), 'the clone starts unbuilt');

  await ok(run('npm', ['install'], clone, NO_REGISTRY));
  await ok(run('npx', ['pod-plugin', 'new', '../my-importer'], clone, NO_REGISTRY));
  const project = path.join(tmp, 'my-importer');
  // the project's own tools (TypeScript, @types/node) come from npm's cache or registry; the Pod's packages are file: links
  await ok(run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], project));
  // node's summary: TAP (`# pass`) on Node 22 without a terminal, spec (`ℹ pass`) on Node 24
  assert.match(await ok(run('npm', ['test'], project)), /[#ℹ] pass 2\n[#ℹ] fail 0/);
  assert.match(await ok(run('npx', ['pod-plugin', 'keys'], project, NO_REGISTRY)), /new keys in .*\.pod-dev-keys\.json/);
  assert.match(await ok(run('npx', ['pod', '--help'], clone, NO_REGISTRY)), /--plugin-runner/);
});
