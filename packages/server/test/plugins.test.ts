/**
 * Spec §7: creating a PluginRun is creating an item; the pod never touches `status`/`progress`. Each
 * test waits until the Pod has recorded its launch decision (podLaunchStatus) before it looks.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { usePod, Owner, until } from './helpers.js';

/** Waits until the Pod has dealt with PluginRun `id`: its launch decision is recorded on it. */
const launchRecorded = (o: Owner, id: string) =>
  until(`podLaunchStatus on ${id}`, async () => (await o.get(id)).podLaunchStatus as string | undefined);

describe('plugins', () => {
  const pod = usePod();

  test('creating a PluginRun answers 200 with its id, and the pod leaves status and progress alone', async () => {
    const o = new Owner(pod().url);
    await o.declare(['status', 'Text'], ['progress', 'Real']);
    const id = 'pluginRun-0001';
    const t0 = performance.now();
    const created = await o.create({
      id,
      type: 'PluginRun',
      containerImage: 'none',
      targetItemId: id,
      status: 'created',
      progress: 0.5,
    });
    const elapsed = performance.now() - t0;
    assert.equal(created, id);
    assert.ok(elapsed < 2000, `creating a PluginRun took ${elapsed.toFixed(0)} ms`);
    await launchRecorded(o, id);
    const item = await o.get(id);
    assert.equal(item.type, 'PluginRun');
    assert.equal(item.containerImage, 'none');
    assert.equal(item.targetItemId, id);
    assert.equal(item.status, 'created');
    assert.equal(item.progress, 0.5);
    assert.equal(item.deleted, false);
    // the client (or an in-process plugin) drives status itself
    await o.ok('update_item', { id, status: 'running', progress: 0.75 });
    const running = await o.get(id);
    assert.equal(running.status, 'running');
    assert.equal(running.progress, 0.75);
    await o.ok('update_item', { id, status: 'done', progress: 1 });
    assert.equal((await o.get(id)).status, 'done');
  });

  test('a PluginRun without status gets none written by the pod', async () => {
    const o = new Owner(pod().url);
    await o.declare(['status', 'Text'], ['progress', 'Real']);
    const id = await o.create({
      type: 'PluginRun',
      containerImage: 'no-such-image:latest',
      targetItemId: 'placeholder',
    });
    assert.match(id, /^[0-9a-f]{32}$/);
    await o.ok('update_item', { id, targetItemId: id });
    await launchRecorded(o, id);
    const item = await o.get(id);
    assert.equal(item.status, undefined);
    assert.equal(item.progress, undefined);
    assert.equal(item.targetItemId, id);
  });

  test('an empty image, a missing target and a PluginRun in a bulk never fail the request', async () => {
    const o = new Owner(pod().url);
    await o.declare(['status', 'Text']);
    const empty = await o.create({
      type: 'PluginRun',
      containerImage: '',
      targetItemId: 'missingTarget99',
      status: 'created',
    });
    const noFields = await o.create({ type: 'PluginRun' });
    const bulk = await o.ok('bulk', {
      createItems: [
        {
          id: 'bulkPluginRun1',
          type: 'PluginRun',
          containerImage: 'none',
          targetItemId: 'bulkPluginRun1',
          status: 'created',
        },
      ],
    });
    assert.deepEqual(bulk.createItems, ['bulkPluginRun1']);
    for (const each of [empty, noFields, 'bulkPluginRun1']) await launchRecorded(o, each);
    assert.equal((await o.get(empty)).status, 'created');
    assert.equal((await o.get(noFields)).type, 'PluginRun');
    assert.equal((await o.get('bulkPluginRun1')).status, 'created');
    // a PluginRun is validated like any item
    await o.fails('create_item', { type: 'PluginRun', containerImage: 'none', undeclaredPluginProp: 1 }, 400);
    await o.fails('create_item', { id: 'bulkPluginRun1', type: 'PluginRun', containerImage: 'none' }, 409);
  });

  test('v3: a StartPlugin item with "container" is an ordinary item', async () => {
    const o = new Owner(pod().url).as('v3');
    await o.declare(['container', 'Text'], ['status', 'Text']);
    const id = 'startPlugin-01';
    assert.equal(
      await o.create({ id, type: 'StartPlugin', container: 'none', targetItemId: id, status: 'created' }),
      id,
    );
    const v3run = await o.create({ type: 'PluginRun', containerImage: 'none', targetItemId: 'x-target' });
    // v3 launches a StartPlugin too: once both decisions are recorded, the Pod is done with them
    for (const each of [id, v3run]) await launchRecorded(o, each);
    const item = await o.get(id);
    assert.equal(item.type, 'StartPlugin');
    assert.equal(item.container, 'none');
    assert.equal(item.status, 'created');
    assert.equal((await o.get(v3run)).containerImage, 'none');
  });
});
