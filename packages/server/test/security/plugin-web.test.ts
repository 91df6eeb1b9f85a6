/**
 * What a plugin or a caller must not do through the 2023 plugin routes (spec 2023 §6): probe other
 * runs' status, call another plugin's web server, report on another run's Trigger, or turn
 * plugin/api/call into a request to any other host or port (SSRF). A canary server on loopback
 * counts every request that reaches it: none may.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Owner, call } from '../helpers.js';
import { type PluginCaller, WebPluginPod } from '../web-plugin-harness.js';

describe('the plugin routes keep plugins to their own run', () => {
  let pods: WebPluginPod;
  let owner: Owner;
  let mine: PluginCaller;
  let other: PluginCaller;
  before(async () => {
    pods = await WebPluginPod.start();
    owner = await pods.owner();
    await owner.create({
      type: 'Plugin',
      containerImage: 'web-image',
      permissions: JSON.stringify({ read: { Trigger: '*', PluginRun: '*' } }),
    });
    [mine, other] = await Promise.all([pods.run(owner), pods.run(owner)]);
  });
  after(() => pods.close());

  test("a plugin asks its own run's status, never another's", async () => {
    assert.deepEqual(await mine.ok('plugin/status', { plugins: [mine.runId] }), {
      plugins: { [mine.runId]: { status: 'daemon' } },
    });
    for (const plugins of [[other.runId], [mine.runId, other.runId], ['no-such-run']]) {
      const reply = await mine.fails('plugin/status', { plugins }, 403);
      assert.match(reply.body.message, /plugin permission: a plugin may ask the status of its own run only/);
    }
  });

  test("a plugin reaches its own web server, never another plugin's", async () => {
    assert.equal(
      await mine.ok('plugin/api/call', { id: mine.runId, method: 'GET', endpoint: '/v1/add', query: { a: 1, b: 1 } }),
      2,
    );
    await mine.fails('plugin/api', { id: other.runId }, 403);
    const reply = await mine.fails('plugin/api/call', { id: other.runId, method: 'POST', endpoint: '/v1/exit' }, 403);
    assert.match(reply.body.message, /its own run's web server only/);
    assert.deepEqual(
      await owner.ok('plugin/status', { plugins: [other.runId] }),
      {
        plugins: { [other.runId]: { status: 'daemon' } },
      },
      'the other plugin was not stopped through the refused call',
    );
  });

  test("a plugin reports only on its own run's Triggers", async () => {
    const theirs = await owner.create({ type: 'Trigger', pluginRunId: other.runId });
    const reply = await mine.fails('trigger/status', { item_ids: ['x'], trigger_id: theirs, status: 'OK' }, 403);
    assert.match(reply.body.message, /reports only on Triggers of its own run/);
    assert.equal((await owner.get(theirs)).podTriggerStatus, undefined, 'nothing was recorded');
  });

  test("another owner learns nothing of this owner's runs", async () => {
    const stranger = await pods.owner();
    assert.deepEqual(await stranger.ok('plugin/status', { plugins: [mine.runId] }), {
      plugins: { [mine.runId]: { status: 'unreachable' } },
    });
    await stranger.fails('plugin/api', { id: mine.runId }, 404);
    await stranger.fails('plugin/api/call', { id: mine.runId, method: 'GET', endpoint: '/v1/add' }, 404);
    // a credential works only for the owner it was issued for
    const borrowed = await call(pods.url, stranger.owner, 'plugin/status', { plugins: [mine.runId] }, mine.auth);
    assert.equal(borrowed.status, 401);
  });
});

describe('plugin/api/call cannot be turned into a request elsewhere (SSRF)', () => {
  let pods: WebPluginPod;
  let owner: Owner;
  let plugin: PluginCaller;
  let canary: Server;
  let canaryPort: number;
  const reached: string[] = [];
  before(async () => {
    canary = createServer((request, response) => {
      reached.push(`${request.method} ${request.url}`);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('"canary"');
    });
    await new Promise<void>((resolve) => canary.listen(0, '127.0.0.1', resolve));
    canaryPort = (canary.address() as AddressInfo).port;
    pods = await WebPluginPod.start();
    owner = await pods.owner();
    plugin = await pods.run(owner);
  });
  after(async () => {
    await pods.close();
    canary.close();
  });

  test('an endpoint that is not a plain path on the plugin is refused, and nothing is sent anywhere', async () => {
    const host = `127.0.0.1:${canaryPort}`;
    const hostile = [
      `http://${host}/x`,
      `HTTP://${host}/x`,
      `//${host}/x`,
      `///${host}/x`,
      `\\\\${host}/x`,
      `/\\${host}/x`,
      `${host}/x`,
      `@${host}/x`,
      `/@${host}/../x`,
      'x',
      '',
      '/..',
      '/../x',
      '/v1/../../x',
      '/v1/./x',
      '/%2e%2e/x',
      '/%2E%2e/x',
      '/v1/%2f%2f127.0.0.1/x',
      '/v1/%5c/x',
      '/v1/%zz',
      '/x?to=1',
      '/x#y',
      '/x y',
      '/x\r\nHost: evil',
      '/x\t',
      `/${'a'.repeat(3000)}`,
    ];
    for (const endpoint of hostile)
      for (const caller of [owner, plugin])
        await caller.fails('plugin/api/call', { id: plugin.runId, method: 'GET', endpoint }, 400);
    assert.deepEqual(reached, [], 'the canary was reached');
  });

  test('a redirect from the plugin is not followed', async () => {
    for (const to of [`http://127.0.0.1:${canaryPort}/redirected`, `//127.0.0.1:${canaryPort}/redirected`]) {
      const reply = await owner.fails(
        'plugin/api/call',
        { id: plugin.runId, method: 'GET', endpoint: '/v1/redirect', query: { to } },
        502,
      );
      assert.match(reply.body.message, /answered 302/);
    }
    assert.deepEqual(reached, []);
  });

  test("a run's webserverPort cannot aim the process runner's relay at another port of the host", async () => {
    const aimed = await pods.run(owner, 'web-image', { webserverPort: canaryPort });
    assert.notEqual(Number(aimed.env.POD_WEBSERVER_PORT), canaryPort);
    const echo = await owner.ok('plugin/api/call', { id: aimed.runId, method: 'GET', endpoint: '/v1/who' });
    assert.equal(echo.path, '/v1/who', 'the plugin itself answered');
    assert.deepEqual(await owner.ok('plugin/status', { plugins: [aimed.runId] }), {
      plugins: { [aimed.runId]: { status: 'daemon' } },
    });
    assert.deepEqual(reached, []);
  });

  test('a query or body naming another host stays a value sent to the plugin', async () => {
    const echo = await plugin.ok('plugin/api/call', {
      id: plugin.runId,
      method: 'POST',
      endpoint: '/v1/echo',
      query: { url: `http://127.0.0.1:${canaryPort}/`, '@host': `127.0.0.1:${canaryPort}` },
      jsonBody: { url: `http://127.0.0.1:${canaryPort}/` },
    });
    assert.equal(echo.path, '/v1/echo');
    assert.deepEqual(reached, []);
  });
});
