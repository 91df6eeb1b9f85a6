/** A fresh clone of this repository's committed HEAD, as a new author gets it, for tests that play one. */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ok, run } from './commands.js';
import { KIT_DIR } from './helpers.js';

export const ROOT = path.resolve(KIT_DIR, '../..');

/** Whether there is a git checkout to clone. */
export const canClone = () => existsSync(path.join(ROOT, '.git'));

/**
 * Clones HEAD into `<tmp>/pod`, unbuilt, with the installed dependencies hard-linked rather than
 * installed again (that compiles SQLCipher for minutes): the clone's `npm install` then finds them
 * in place, as the README's first install leaves them, and still links the workspaces' bins itself
 * — `pod` and `pod-plugin` are removed first, and nothing is built.
 */
export async function freshClone(tmp: string): Promise<string> {
  const clone = path.join(tmp, 'pod');
  const head = (await ok(run('git', ['rev-parse', 'HEAD'], ROOT))).trim();
  await ok(run('git', ['clone', '--quiet', '--no-checkout', ROOT, clone], tmp));
  await ok(run('git', ['checkout', '--quiet', '--detach', head], clone));
  const packages = readdirSync(path.join(ROOT, 'packages')).map((name) => `packages/${name}/node_modules`);
  for (const modules of ['node_modules', ...packages])
    if (existsSync(path.join(ROOT, modules)))
      await ok(run('cp', ['-al', path.join(ROOT, modules), path.join(clone, modules)], tmp));
  for (const bin of ['pod', 'pod-plugin']) rmSync(path.join(clone, 'node_modules/.bin', bin), { force: true });
  // the one file npm rewrites in place: a copy of its own, so that this repository's stays untouched
  const hiddenLockfile = path.join(clone, 'node_modules/.package-lock.json');
  if (existsSync(hiddenLockfile)) {
    rmSync(hiddenLockfile);
    copyFileSync(path.join(ROOT, 'node_modules/.package-lock.json'), hiddenLockfile);
  }
  assert.ok(!existsSync(path.join(clone, 'packages/plugin-kit/dist')), 'the clone starts unbuilt');
  return clone;
}
