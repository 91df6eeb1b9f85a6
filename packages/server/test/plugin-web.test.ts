/**
 * The 2023 plugin routes (spec 2023 §6, §8) with real plugin processes: plugin/status asks each
 * run's own web server, plugin/api and plugin/api/call relay to it, trigger/status records a
 * trigger's outcome; webserverPort and the `daemon` status.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { defaultConfig } from '../src/config.js';
import { Owner, startPod, until, type RunningPod } from './helpers.js';
import { buildProbe, docker, noEngine } from './security/docker.js';
import { WebPluginPod } from './web-plugin-harness.js';

describe('plugin/status (2023 §6.1)', () => {
  let pods: WebPluginPod;
  let owner: Owner;
  before(async () => {
    pods = await WebPluginPod.start();
    owner = await pods.owner();
  });
  after(() => pods.close());

  test('a run with containerImage "" is created and its status is exactly "unreachable"', async () => {
    const runId = await owner.create({ type: 'PluginRun', containerImage: '' });
    assert.deepEqual(await owner.ok('plugin/status', { plugins: [runId] }), {
      plugins: { [runId]: { status: 'unreachable' } },
    });
    assert.deepEqual(await owner.ok('plugin/status', { plugins: ['no-such-run'] }), {
      plugins: { 'no-such-run': { status: 'unreachable' } },
    });
    assert.deepEqual(await owner.ok('plugin/status', { plugins: [] }), { plugins: {} });
  });

  test("a running plugin's own word at /v1/health; unreachable once it has ended", async () => {
    const plugin = await pods.run(owner);
    assert.deepEqual(await owner.ok('plugin/status', { plugins: [plugin.runId] }), {
      plugins: { [plugin.runId]: { status: 'daemon' } },
    });
    await owner.ok('abort_plugin_run', plugin.runId);
    assert.deepEqual(await owner.ok('plugin/status', { plugins: [plugin.runId] }), {
      plugins: { [plugin.runId]: { status: 'unreachable' } },
    });
  });

  test('runs are asked in parallel, each for at most 2 s: silent ones are unreachable, the rest answer', async () => {
    const silent = await Promise.all([pods.run(owner, 'web-hang'), pods.run(owner, 'web-hang')]);
    const speaking = await pods.run(owner);
    const ids = [...silent.map((run) => run.runId), speaking.runId];
    const started = Date.now();
    const answer = await owner.ok('plugin/status', { plugins: ids });
    const took = Date.now() - started;
    assert.deepEqual(answer, {
      plugins: {
        [ids[0]!]: { status: 'unreachable' },
        [ids[1]!]: { status: 'unreachable' },
        [speaking.runId]: { status: 'daemon' },
      },
    });
    assert.ok(took >= 1_900 && took < 3_900, `two silent runs took ${took} ms in all (in parallel, 2 s each)`);
  });

  test('a malformed payload is 400 and says what is wrong', async () => {
    for (const payload of [{}, { plugins: 'run' }, { plugins: [1] }, ['run'], { plugins: [''] }])
      assert.match((await owner.fails('plugin/status', payload, 400)).body.message, /payload/);
    const many = Array.from({ length: 257 }, (_, i) => `run-${i}`);
    assert.match((await owner.fails('plugin/status', { plugins: many }, 400)).body.message, /at most 256/);
  });
});

describe('plugin/api and plugin/api/call (2023 §6.2)', () => {
  let pods: WebPluginPod;
  let owner: Owner;
  let runId: string;
  before(async () => {
    pods = await WebPluginPod.start();
    owner = await pods.owner();
    runId = (await pods.run(owner)).runId;
  });
  after(() => pods.close());

  const callApi = (payload: Record<string, unknown>) => owner.ok('plugin/api/call', { id: runId, ...payload });

  test("plugin/api answers the plugin's /v1/api map", async () => {
    assert.deepEqual(await owner.ok('plugin/api', { id: runId }), {
      '/v1/echo': { method: 'POST', args: { text: 'str' } },
      '/v1/add': { method: 'GET', args: { a: 'int', b: 'int' } },
    });
  });

  test('plugin/api/call sends the method, path, query and JSON body, and answers the JSON answer', async () => {
    assert.equal(await callApi({ method: 'GET', endpoint: '/v1/add', query: { a: 2, b: 40 }, jsonBody: null }), 42);
    const echo = await callApi({
      method: 'post',
      endpoint: '/v1/echo/%C3%A9t%C3%A9',
      query: { q: 'a b&c', many: ['1', 2, true] },
      jsonBody: { text: 'hello', nested: [1, { two: 2 }] },
    });
    assert.equal(echo.method, 'POST');
    assert.equal(echo.path, '/v1/echo/%C3%A9t%C3%A9');
    assert.deepEqual(echo.query, [
      ['q', 'a b&c'],
      ['many', '1'],
      ['many', '2'],
      ['many', 'true'],
    ]);
    assert.deepEqual(echo.body, { text: 'hello', nested: [1, { two: 2 }] });
    assert.equal(echo.contentType, 'application/json');
    for (const name of ['authorization', 'cookie', 'origin'])
      assert.ok(!echo.headerNames.includes(name), `the relayed request carries no ${name} header`);
    // an answer of nothing is JSON null
    assert.equal((await callApi({ method: 'DELETE', endpoint: '/v1/thing' })).method, 'DELETE');
  });

  test('an unknown run is 404; a run that is not running, or a plugin that fails, is 502 saying why', async () => {
    assert.match((await owner.fails('plugin/api', { id: 'no-such-run' }, 404)).body.message, /no plugin run/);
    await owner.fails('plugin/api/call', { id: 'no-such-run', method: 'GET', endpoint: '/v1/add' }, 404);
    const notLaunched = await owner.create({ type: 'PluginRun', containerImage: '' });
    assert.match(
      (await owner.fails('plugin/api', { id: notLaunched }, 502)).body.message,
      /not running on this Pod \(podLaunchStatus "notLaunched"\)/,
    );
    const thing = await owner.create({ type: 'Thing' });
    await owner.fails('plugin/api', { id: thing }, 404);
    const call = (endpoint: string, query = {}) =>
      owner.fails('plugin/api/call', { id: runId, method: 'GET', endpoint, query }, 502);
    assert.match((await call('/v1/text')).body.message, /is not JSON/);
    assert.match((await call('/v1/fail')).body.message, /answered 500 to GET \/v1\/fail: .*failed on purpose/);
    assert.match((await call('/v1/big')).body.message, /larger than 8388608 bytes/);
    assert.match((await call('/v1/redirect', { to: '/v1/add' })).body.message, /answered 302/, 'never followed');
  });

  test('a malformed call is 400 and says what is wrong', async () => {
    const fails = async (payload: Record<string, unknown>, message: RegExp) =>
      assert.match((await owner.fails('plugin/api/call', { id: runId, ...payload }, 400)).body.message, message);
    await fails({ method: 'GET' }, /endpoint/);
    await fails({ method: 'TRACE', endpoint: '/v1/add' }, /method must be GET, POST, PUT, PATCH or DELETE/);
    await fails({ method: 'GET', endpoint: '/v1/add', query: { a: { b: 1 } } }, /query/);
  });
});

describe('trigger/status (2023 §6.3)', () => {
  let pods: WebPluginPod;
  let owner: Owner;
  before(async () => {
    pods = await WebPluginPod.start();
    owner = await pods.owner();
  });
  after(() => pods.close());

  test('both spellings are accepted, answered {} and the outcome kept on the Trigger', async () => {
    const triggerId = await owner.create({ type: 'Trigger' });
    assert.deepEqual(
      await owner.ok('trigger/status', { item_ids: ['a', 'b'], trigger_id: triggerId, status: 'OK' }),
      {},
    );
    let trigger = await owner.get(triggerId);
    assert.equal(trigger.podTriggerStatus, 'OK');
    assert.equal(trigger.podTriggerItemIds, '["a","b"]');
    const before = trigger.dateModified;
    assert.deepEqual(
      await owner.ok('trigger/status', { item_id: 'c', trigger_id: triggerId, status: 'boom: no net' }),
      {},
    );
    trigger = await owner.get(triggerId);
    assert.equal(trigger.podTriggerStatus, 'boom: no net');
    assert.equal(trigger.podTriggerItemIds, '["c"]');
    assert.equal(trigger.dateModified, before, "the Pod's record leaves dateModified to the Trigger's writers");
  });

  test('a trigger_id that names no Trigger is 404; a malformed payload 400', async () => {
    await owner.fails('trigger/status', { item_ids: ['a'], trigger_id: 'nothing-here', status: 'OK' }, 404);
    const thing = await owner.create({ type: 'Thing' });
    await owner.fails('trigger/status', { item_ids: ['a'], trigger_id: thing, status: 'OK' }, 404);
    const triggerId = await owner.create({ type: 'Trigger' });
    await owner.ok('delete_item', triggerId);
    await owner.fails('trigger/status', { item_ids: ['a'], trigger_id: triggerId, status: 'OK' }, 404);
    const live = await owner.create({ type: 'Trigger' });
    assert.match(
      (await owner.fails('trigger/status', { trigger_id: live, status: 'OK' }, 400)).body.message,
      /item_ids/,
    );
    await owner.fails('trigger/status', { item_ids: ['a'], status: 'OK' }, 400);
    await owner.fails('trigger/status', { item_ids: ['a'], trigger_id: live }, 400);
    await owner.fails('trigger/status', { item_ids: 'a', trigger_id: live, status: 'OK' }, 400);
  });

  test("a plugin reports on its own run's Trigger, which it must be able to read", async () => {
    const blind = await pods.run(owner);
    const unseen = await owner.create({ type: 'Trigger', pluginRunId: blind.runId });
    const report = { item_ids: ['x'], trigger_id: unseen, status: 'OK' };
    // without a Plugin item, a run reads only its own items: a Trigger it cannot read answers like a missing one
    await blind.fails('trigger/status', report, 404);
    await owner.ok('abort_plugin_run', blind.runId);

    await owner.create({
      type: 'Plugin',
      containerImage: 'web-image',
      permissions: JSON.stringify({ read: { Trigger: '*' } }),
    });
    const plugin = await pods.run(owner);
    const triggerId = await owner.create({ type: 'Trigger', pluginRunId: plugin.runId });
    assert.deepEqual(await plugin.ok('trigger/status', { item_ids: ['x'], trigger_id: triggerId, status: 'OK' }), {});
    assert.equal((await owner.get(triggerId)).podTriggerStatus, 'OK');
    await owner.ok('abort_plugin_run', plugin.runId);
  });
});

describe('webserverPort and daemon (2023 §8)', () => {
  let pods: WebPluginPod;
  let owner: Owner;
  before(async () => {
    pods = await WebPluginPod.start();
    owner = await pods.owner();
  });
  after(() => pods.close());

  test('the process runner gives each run a free port of its own in POD_WEBSERVER_PORT, whatever webserverPort says', async () => {
    const [a, b] = await Promise.all([
      pods.run(owner, 'web-image', { webserverPort: 8080 }),
      pods.run(owner, 'web-image', { webserverPort: 8080 }),
    ]);
    const ports = [a, b].map((run) => Number(run.env.POD_WEBSERVER_PORT));
    assert.notEqual(ports[0], ports[1], 'two runs, two ports');
    for (const port of ports) assert.ok(port > 0 && port !== 8080, `port ${port}`);
    for (const run of [a, b])
      assert.deepEqual(await owner.ok('plugin/status', { plugins: [run.runId] }), {
        plugins: { [run.runId]: { status: 'daemon' } },
      });
  });

  test('a webserverPort that is no TCP port is refused at launch; the run is still created', async () => {
    const runId = await owner.create({ type: 'PluginRun', containerImage: 'web-image', webserverPort: 70_000 });
    const run = await until('the launch record', async () => {
      const item = await owner.get(runId);
      return item.podLaunchStatus ? item : undefined;
    });
    assert.equal(run.podLaunchStatus, 'refused');
    assert.match(run.podLaunchMessage, /webserverPort 70000 is not a TCP port/);
  });

  test('"daemon" is not an end: a daemon run can be aborted, and one that exits as a daemon is an error', async () => {
    const first = await pods.run(owner);
    await first.ok('update_item', { id: first.runId, status: 'daemon' });
    await owner.ok('abort_plugin_run', first.runId);
    assert.equal((await owner.get(first.runId)).status, 'aborted');

    const second = await pods.run(owner);
    await second.ok('update_item', { id: second.runId, status: 'daemon' });
    await owner.ok('plugin/api/call', { id: second.runId, method: 'GET', endpoint: '/v1/exit' });
    const ended = await until('the run to end', async () => {
      const item = await owner.get(second.runId);
      return item.podLaunchStatus === 'exited' ? item : undefined;
    });
    assert.equal(ended.status, 'error');
    assert.match(ended.podLaunchMessage, /without setting a final status/);
  });
});

describe('a web plugin in a container (docker runner, firewalled plugin network)', { skip: noEngine }, () => {
  const image = `pod-test-web-plugin-${process.pid}`;
  let pod: RunningPod;
  before(async () => {
    const script = readFileSync(fileURLToPath(new URL('../../test/fixtures/web-plugin.mjs', import.meta.url)), 'utf8');
    await buildProbe(image, 'pod-plugin-node:base', 'web-plugin.mjs', script, 'node', 'ENV WEB_PLUGIN_HOST=0.0.0.0\n');
    pod = await startPod({ plugins: { ...defaultConfig().plugins, runner: 'docker', timeoutSeconds: 120 } });
  });
  after(async () => {
    await pod?.close();
    await docker
      .getImage(image)
      .remove({ force: true })
      .catch(() => {});
  });

  test("the Pod reaches each container's web server at its webserverPort, default 8080", async () => {
    const owner = new Owner(pod.url);
    await owner.declare(['webserverPort', 'Integer']);
    const runs = [
      { id: await owner.create({ type: 'PluginRun', containerImage: image, webserverPort: 9090 }), port: 9090 },
      { id: await owner.create({ type: 'PluginRun', containerImage: image }), port: 8080 },
    ];
    for (const run of runs) {
      await until(
        `run ${run.id} to answer its health check`,
        async () => {
          const launched = await owner.get(run.id);
          assert.ok(
            !['failed', 'imageMissing', 'refused', 'exited'].includes(launched.podLaunchStatus),
            launched.podLaunchMessage,
          );
          const { plugins } = await owner.ok('plugin/status', { plugins: [run.id] });
          return plugins[run.id].status === 'daemon' ? true : undefined;
        },
        60_000,
      );
      const echo = await owner.ok('plugin/api/call', {
        id: run.id,
        method: 'POST',
        endpoint: '/v1/echo',
        jsonBody: { a: 1 },
      });
      assert.equal(echo.port, run.port);
      assert.deepEqual(echo.body, { a: 1 });
    }
    await owner.ok('abort_plugin_run', runs[0]!.id);
    assert.deepEqual(await owner.ok('plugin/status', { plugins: [runs[0]!.id] }), {
      plugins: { [runs[0]!.id]: { status: 'unreachable' } },
    });
  });
});
