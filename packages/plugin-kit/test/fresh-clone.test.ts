/**
 * A new plugin author's first commands, from a fresh clone of this repository's committed HEAD:
 * the set-up's `npm install`, then the plugin README's `npx pod-plugin new ../my-importer`,
 * `cd ../my-importer && npm install && npm test`. `pod-plugin` and `pod` must come from the clone,
 * never from a registry: the commands that need nothing else run with the registry pointed at a
 * closed port, so any fetch fails loudly.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { canClone, freshClone } from './clone.js';
import { NO_REGISTRY, ok, run } from './commands.js';

test('from a fresh clone, the README commands find pod-plugin and pod without any registry', async (t) => {
  if (!canClone()) return t.skip('not a git checkout: nothing to clone');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pod-fresh-clone-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const clone = await freshClone(tmp);

  await ok(run('npm', ['install'], clone, NO_REGISTRY));
  await ok(run('npx', ['pod-plugin', 'new', '../my-importer'], clone, NO_REGISTRY));
  const project = path.join(tmp, 'my-importer');
  // the project's own tools (TypeScript, @types/node) come from npm's cache or registry; the Pod's packages are file: links
  await ok(run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], project));
  assert.match(await ok(run('npm', ['test'], project)), /ℹ pass 2\nℹ fail 0/);
  assert.match(
    await ok(run('npx', ['pod-plugin', 'keys'], project, NO_REGISTRY)),
    /new keys in .*\.pod-dev-keys\.json/,
  );
  assert.match(await ok(run('npx', ['pod', '--help'], clone, NO_REGISTRY)), /--plugin-runner/);
});
