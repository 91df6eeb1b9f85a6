/**
 * A plugin written as the original Python plugins were (standard library only), started by the
 * Pod's process runner with `python3`: it authenticates with its PluginAuth, stores a file through
 * `upload_file_b` and sets its run to done.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { File } from '@pod/client';
import type { TestPod } from '../src/testing.js';
import { install, newOwner, runToEnd, startPod } from './helpers.js';

let pod: TestPod;
before(async () => {
  pod = await startPod();
});
after(() => pod.close());

test('a Python plugin of the original kind runs to done and stores its file', async () => {
  const owner = await newOwner(pod);
  await owner.addToSchema(File);
  const { plugin } = await install(owner, 'python', { write: { File: '*' } });
  const run = await runToEnd(owner, plugin);
  assert.equal(run.status, 'done', `${run.podLaunchMessage}: ${await owner.call('plugin_run_logs', run.id)}`);
  assert.equal(run.progress, 1);
  assert.equal(run.podExitCode, 0);
  const [file] = await owner.search(File, { filename: 'python-plugin.txt' });
  assert.ok(file, 'the plugin created its File item');
  assert.equal(new TextDecoder().decode(await owner.getFile(file)), `written by the Python plugin in run ${run.id}\n`);
});
