/**
 * Spec 2023 §1.4: a plugin credential lives in one Pod process. After a restart on the same data
 * folder, a genuine credential of the earlier process answers 421 (its plugin stops itself); a
 * forged or garbled one answers 401, as does a genuine one of this process whose run has ended.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CREDENTIAL_KEY_FILE } from '../../src/plugins/credentials.js';
import { Owner, randomKey } from '../helpers.js';
import { WebPluginPod } from '../web-plugin-harness.js';

const pluginAuth = (token: unknown) => ({ type: 'PluginAuth', data: { token } });

test("after a restart, an earlier process's credential is 421; forged, garbled or ended ones are 401", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pod-restart-'));
  try {
    const first = await WebPluginPod.start({ dataDir });
    const owner = await first.owner();
    const plugin = await first.run(owner);
    const token = plugin.auth.data.token as string;
    await plugin.ok('get_item', plugin.runId);
    await first.stop(); // stops the run with the Pod; the data folder stays

    const second = await WebPluginPod.start({ dataDir });
    try {
      const again = new Owner(second.url, owner.owner, owner.key);
      const stale = await again.fails('get_item', plugin.runId, 421, pluginAuth(token));
      assert.equal(stale.body.error, 'Misdirected Request');
      assert.match(stale.body.message, /earlier process of this Pod.*stop the plugin/);
      assert.ok(!stale.text.includes(token), 'the answer does not echo the credential');

      // forged: the right shape without the tag of this data folder's key; garbled: not a token at all
      const flipped = token.slice(0, -1) + (token.endsWith('0') ? '1' : '0');
      for (const forged of [flipped, randomKey() + randomKey() + randomKey().slice(0, 16)])
        await again.fails('get_item', plugin.runId, 401, pluginAuth(forged));
      for (const garbled of ['', 'zz', `${token}00`, token.toUpperCase(), token.slice(2), 42, null, { token }])
        await again.fails('get_item', plugin.runId, 401, pluginAuth(garbled));

      // a credential of this process, once its run has ended
      const current = await second.run(again);
      await current.ok('get_item', current.runId);
      await again.ok('abort_plugin_run', current.runId);
      await current.fails('get_item', current.runId, 401);
    } finally {
      await second.stop();
    }

    // another data folder (another Pod) never issued it: 401
    const stranger = await WebPluginPod.start();
    try {
      await new Owner(stranger.url, owner.owner, owner.key).fails('get_item', plugin.runId, 401, pluginAuth(token));
    } finally {
      await stranger.close();
    }
    assert.equal(statSync(join(dataDir, CREDENTIAL_KEY_FILE)).mode & 0o777, 0o600, "the key is the Pod user's only");
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
