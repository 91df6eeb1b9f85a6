// Plugin runs through a real runner (local processes): what the Pod records on a run, and what a
// run's credential may and may not do.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessRunner } from '../src/plugins/process-runner.js';
import type { PluginRunner, RunningPlugin } from '../src/plugins/runner.js';
import { declare, pluginEnvironment, Owner, sha256hex, startPod, type RunningPod, until } from './helpers.js';

const PLUGIN = fileURLToPath(new URL('../../test/fixtures/capture-plugin.mjs', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'pod-runs-'));
const envFile = (name: string) => join(scratch, `${name}.json`);

describe('plugin runs', () => {
  let pod: RunningPod;
  before(async () => (pod = await startPod()));
  after(async () => {
    await pod.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** A Pod whose process runner maps images to the capture plugin. */
  async function podWithRunner() {
    const runner = new ProcessRunner({
      commands: {
        'wait-plugin': [process.execPath, PLUGIN, envFile('wait'), 'wait'],
        'quick-plugin': [process.execPath, PLUGIN, envFile('quick'), 'exit'],
      },
      timeoutSeconds: 30,
    });
    return startPod({}, { runner });
  }

  test('without a runner the Pod records noRunner and leaves status to the client', async () => {
    const o = new Owner(pod.url);
    await o.declare(['status', 'Text']);
    const launchOf = async (containerImage: string) => {
      const id = await o.create({ type: 'PluginRun', containerImage, status: 'created' });
      return until('the launch record', async () => {
        const item = await o.get(id);
        return item.podLaunchStatus ? item : undefined;
      });
    };
    const run = await launchOf('some-importer');
    assert.equal(run.podLaunchStatus, 'noRunner');
    assert.equal(run.status, 'created');
    for (const image of ['none', '']) {
      const clientRun = await launchOf(image);
      assert.equal(
        clientRun.podLaunchStatus,
        'notLaunched',
        `containerImage ${JSON.stringify(image)} names no container`,
      );
      assert.equal(clientRun.status, 'created');
    }
  });

  describe('with a process runner', () => {
    let runnerPod: RunningPod;
    let o: Owner;
    let runId: string;
    let plugin: Owner;
    before(async () => {
      const started = await podWithRunner();
      runnerPod = started;
      o = new Owner(started.url);
      await o.declare(['name', 'Text'], ['secret', 'Text'], ['text', 'Text'], ['errorMessage', 'Text']);
      const permissions = JSON.stringify({ read: { Person: ['name'] }, write: { Message: ['text'] } });
      const setup = await o.ok('bulk', {
        createItems: [
          { type: 'Plugin', id: 'plugin-1', containerImage: 'wait-plugin', permissions },
          { type: 'Account', id: 'account-1', name: 'me' },
          { type: 'Person', id: 'person-1', name: 'Alice', secret: 'not for plugins' },
          { type: 'Note', id: 'note-1', text: 'private' },
          {
            type: 'PluginRun',
            id: 'run-wait-1',
            containerImage: 'wait-plugin',
            targetItemId: 'run-wait-1',
            status: 'created',
          },
        ],
        createEdges: [
          { _source: 'run-wait-1', _target: 'plugin-1', _name: 'plugin' },
          { _source: 'plugin-1', _target: 'account-1', _name: 'account' },
        ],
      });
      assert.equal(setup.createItems.length, 5);
      runId = 'run-wait-1';
      const env = await until('the plugin to start', () => pluginEnvironment(envFile('wait')));
      assert.equal(env.POD_PLUGINRUN_ID, runId);
      assert.equal(env.POD_OWNER, o.owner);
      assert.equal(JSON.parse(env.POD_TARGET_ITEM!).id, runId);
      assert.match(env.POD_FULL_ADDRESS!, /^http:\/\/127\.0\.0\.1:\d+$/);
      const auth = JSON.parse(env.POD_AUTH_JSON!);
      assert.doesNotMatch(env.POD_AUTH_JSON!, /\//, 'no "/" in the credential (spec §7)');
      assert.ok(!env.POD_AUTH_JSON!.includes(o.key), 'the credential does not carry the database key');
      plugin = new Owner(started.url, o.owner, o.key);
      Object.defineProperty(plugin, 'auth', { get: () => ({ type: 'PluginAuth', ...auth }) });
    });
    after(async () => runnerPod.close());

    test('a run may read and update itself, read its target, Plugin and Account, and declare schema', async () => {
      assert.equal((await plugin.get(runId)).status, 'created');
      await plugin.ok('update_item', { id: runId, status: 'running' });
      assert.equal((await o.get(runId)).status, 'running');
      assert.equal((await plugin.get('plugin-1')).containerImage, 'wait-plugin');
      await plugin.ok('update_item', { id: 'account-1', errorMessage: 'login failed' });
      assert.equal((await o.get('account-1')).errorMessage, 'login failed');
      await plugin.ok('bulk', {
        createItems: [declare('text', 'Text', 'Message'), declare('progress', 'Real', 'PluginRun')],
      });
      await plugin.fails('create_item', declare('importedAt', 'DateTime', 'Message'), 403); // not among its Message properties
      const started = await o.get(runId);
      assert.equal(started.podLaunchStatus, 'started');
    });

    test('reads show only declared types and properties', async () => {
      const people = await plugin.search({ type: 'Person' });
      assert.deepEqual(
        people.map((p: { id: string }) => p.id),
        ['person-1'],
      );
      assert.equal(people[0].name, 'Alice');
      assert.equal('secret' in people[0], false, 'an undeclared property is not shown');
      await plugin.fails('search', { type: 'Note' }, 403);
      assert.deepEqual(await plugin.ok('get_item', 'note-1'), [], 'a hidden item answers like a missing one');
      const [self] = await plugin.search({ type: 'PluginRun', id: runId, '[[edges]]': {} });
      assert.equal(self.id, runId, 'a run finds itself by type and id');
      assert.deepEqual(
        self['[[edges]]'].map((edge: { _edge: string; _item: { id: string } }) => [edge._edge, edge._item.id]),
        [['plugin', 'plugin-1']],
        'an edge shows when its other end is visible, though Edge items are not declared',
      );
      const everything = await plugin.search({});
      assert.ok(
        !everything.some((item: { type: string }) => item.type === 'Note'),
        'a search without type hides undeclared types',
      );
    });

    test('writes outside the declaration get 403 and write nothing', async () => {
      const message = await plugin.ok('create_item', { type: 'Message', text: 'hello' });
      assert.equal((await o.get(message)).text, 'hello');
      const forbidden = await plugin.fails('create_item', { type: 'Note', text: 'x' }, 403);
      assert.match(JSON.parse(forbidden.text).message, /did not declare that it writes items of type "Note"/);
      await plugin.fails('create_item', { type: 'Message', text: 'x', name: 'not declared' }, 403);
      await plugin.fails('update_item', { id: 'person-1', name: 'Mallory' }, 403);
      await plugin.fails('delete_item', 'note-1', 404);
      const before = (await o.search({ type: 'Message' })).length;
      await plugin.fails(
        'bulk',
        {
          createItems: [
            { type: 'Message', text: 'ok' },
            { type: 'Note', text: 'no' },
          ],
        },
        403,
      );
      assert.equal((await o.search({ type: 'Message' })).length, before, 'nothing of a refused bulk is written');
      assert.equal((await o.get('person-1')).name, 'Alice');
      const bytes = Buffer.from('plugin file');
      await o.create({ type: 'File', sha256: sha256hex(bytes) });
      const upload = await fetch(plugin.uploadBPath(sha256hex(bytes)), { method: 'POST', body: bytes });
      assert.equal(upload.status, 403);
      await plugin.fails('send_email', { to: 'a@example.org', subject: 's', body: 'b' }, 403);
      await plugin.fails('changes', {}, 403);
    });

    test('aborting stops the plugin, marks the run aborted and ends its credential', async () => {
      await o.ok('abort_plugin_run', runId);
      const run = await until('the stop to be recorded', async () => {
        const item = await o.get(runId);
        return item.podLaunchStatus === 'stopped' ? item : undefined;
      });
      assert.equal(run.status, 'aborted');
      await plugin.fails('get_item', runId, 401);
      const logs = await o.ok('plugin_run_logs', runId);
      assert.match(logs, /started with \{"data":\{"token":"\*\*\*"\}\}/, 'logs keep the output with the token masked');
    });

    test('a client setting a run to aborted stops it too', async () => {
      const id = await o.create({ type: 'PluginRun', containerImage: 'wait-plugin', status: 'created' });
      await until('the start', async () => ((await o.get(id)).podLaunchStatus === 'started' ? true : undefined));
      await o.ok('update_item', { id, status: 'aborted' });
      const run = await until('the stop', async () => {
        const item = await o.get(id);
        return item.podLaunchStatus === 'stopped' ? item : undefined;
      });
      assert.equal(run.status, 'aborted');
    });

    test('a plugin that exits without a final status ends in error; an unknown image leaves status alone', async () => {
      const quick = await o.create({ type: 'PluginRun', containerImage: 'quick-plugin', status: 'created' });
      const ended = await until('the exit to be recorded', async () => {
        const item = await o.get(quick);
        return item.podLaunchStatus === 'exited' ? item : undefined;
      });
      assert.equal(ended.podExitCode, 0);
      assert.equal(ended.status, 'error');
      assert.match(
        ended.podLaunchMessage,
        /exited with code 0 without setting a final status .* so the Pod set status "error"/,
      );
      const late = await o.fails('abort_plugin_run', quick, 409);
      assert.match(JSON.parse(late.text).message, /already ended/);
      assert.equal((await o.get(quick)).status, 'error', 'aborting an ended run changes nothing');
      const missing = await o.create({ type: 'PluginRun', containerImage: 'no-such-image', status: 'created' });
      const recorded = await until('the launch record', async () => {
        const item = await o.get(missing);
        return item.podLaunchStatus ? item : undefined;
      });
      assert.equal(recorded.podLaunchStatus, 'imageMissing');
      assert.equal(recorded.status, 'created');
    });
  });
});

describe('deleting a running run', () => {
  /** The process runner, telling the test what it started: the test waits on the run's own end. */
  const processes = new ProcessRunner({
    commands: { 'wait-plugin': [process.execPath, PLUGIN, envFile('deleted'), 'wait'] },
    timeoutSeconds: 60,
  });
  const started: RunningPlugin[] = [];
  const runner: PluginRunner = {
    name: processes.name,
    start: async (launch) => {
      const plugin = await processes.start(launch);
      started.push(plugin);
      return plugin;
    },
    close: () => processes.close(),
  };
  let pod: RunningPod;
  before(async () => (pod = await startPod({}, { runner })));
  after(async () => pod.close());

  for (const how of ['delete_item', 'bulk'] as const)
    test(`by ${how} stops its process`, async () => {
      const o = new Owner(pod.url);
      await o.declare(['status', 'Text']);
      const id = await o.create({ type: 'PluginRun', containerImage: 'wait-plugin', status: 'created' });
      await until('the start', async () => ((await o.get(id)).podLaunchStatus === 'started' ? true : undefined));
      const plugin = started.at(-1)!;
      const pid = Number(plugin.name.replace('pid ', ''));
      assert.doesNotThrow(() => process.kill(pid, 0), 'the plugin process runs');
      if (how === 'delete_item') await o.ok('delete_item', id);
      else await o.ok('bulk', { deleteItems: [id] });
      const exit = await plugin.exited;
      assert.equal(exit.stopped, true, 'the Pod stopped it');
      assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the process is gone');
      const run = (await o.search({ id, deleted: true }))[0];
      assert.equal(run.deleted, true, 'the run stays deleted');
    });
});
