/**
 * Registering a plugin with a running Pod (process runner): a `<image>.json` in the watched plugin
 * folder launches on the next run, without a restart. A file there is a command the Pod executes,
 * so a folder or file others could write is ignored, a bad file is skipped with one log line
 * naming it, and `plugin_images` tells the owner only names — never commands or paths — and
 * refuses plugins. A run's settings must fit its Plugin's declaration or it never starts.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { defaultConfig } from '../../src/config.js';
import { PluginDir } from '../../src/plugins/plugin-dir.js';
import { pluginEnvironment, Owner, startPod, until, type RunningPod } from '../helpers.js';
import { PluginCaller } from './plugin-harness.js';

const PLUGIN = fileURLToPath(new URL('../../../test/fixtures/capture-plugin.mjs', import.meta.url));

/** A log that keeps its warnings. */
const recordingLog = () => {
  const lines: string[] = [];
  return { lines, warn: (line: string) => void lines.push(line) };
};

describe('the watched plugin folder', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'pod-plugin-dir-'));
  const folder = join(scratch, 'config/pod/plugins');
  let pod: RunningPod;
  let owner: Owner;
  const commandOf = (image: string, mode = 'exit') => [
    process.execPath,
    PLUGIN,
    join(scratch, `${image}.out.json`),
    mode,
  ];
  const register = (image: string, command: unknown, mode = 0o600) => {
    const file = join(folder, `${image}.json`);
    writeFileSync(file, JSON.stringify({ command }), { mode });
    chmodSync(file, mode);
    return file;
  };
  const images = async (): Promise<{ image: string; runner: string }[]> => owner.ok('plugin_images', {});
  const listed = (image: string) =>
    until(`${image} listed`, async () => ((await images()).some((entry) => entry.image === image) ? true : undefined));
  const startRun = async (image: string, plugin: Record<string, unknown> = {}, run: Record<string, unknown> = {}) => {
    const runId = `run-${Math.random().toString(36).slice(2, 10)}`;
    const pluginId = `plugin-${runId}`;
    await owner.ok('bulk', {
      createItems: [
        { type: 'Plugin', id: pluginId, containerImage: image, ...plugin },
        { type: 'PluginRun', id: runId, containerImage: image, status: 'created', ...run },
      ],
      createEdges: [{ _source: runId, _target: pluginId, _name: 'plugin' }],
    });
    return until(`the launch of ${runId}`, async () => {
      const [item] = await owner.ok('get_item', runId);
      return ['started', 'exited', 'refused', 'imageMissing', 'failed'].includes(item?.podLaunchStatus)
        ? item
        : undefined;
    });
  };

  before(async () => {
    const plugins = {
      ...defaultConfig().plugins,
      runner: 'process' as const,
      dir: folder,
      commands: { pinned: commandOf('pinned') },
    };
    pod = await startPod({ plugins });
    owner = new Owner(pod.url);
    await owner.declare(
      ['containerImage', 'Text'],
      ['status', 'Text'],
      ['permissions', 'Text'],
      ['configJson', 'Text'],
      ['config', 'Text'],
    );
  });
  after(async () => {
    await pod.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test("is created readable by the Pod's user only", () => {
    assert.equal(statSync(folder).mode & 0o777, 0o700);
  });

  test('a plugin registered while the Pod runs is listed and launches on the next run, no restart', async () => {
    assert.deepEqual(await images(), [{ image: 'pinned', runner: 'process' }]);
    const before = await startRun('late');
    assert.equal(before.podLaunchStatus, 'imageMissing');
    assert.match(before.podLaunchMessage, /pod-plugin install/);
    register('late', commandOf('late'));
    await listed('late');
    const answer = JSON.stringify(await images());
    assert.ok(!answer.includes(PLUGIN) && !answer.includes(scratch), `names only, never commands or paths: ${answer}`);
    const run = await startRun('late');
    assert.notEqual(run.podLaunchStatus, 'imageMissing', run.podLaunchMessage);
    await until('the late plugin to have run', () => (existsSync(join(scratch, 'late.out.json')) ? true : undefined));
  });

  test('--plugin-commands wins over a file of the same name', async () => {
    register('pinned', commandOf('impostor'));
    await startRun('pinned');
    await until('the pinned plugin to have run', () =>
      existsSync(join(scratch, 'pinned.out.json')) ? true : undefined,
    );
    assert.ok(!existsSync(join(scratch, 'impostor.out.json')), "the file's command never ran");
  });

  test('a file others may write is not launched', async () => {
    register('writable', commandOf('writable'), 0o622);
    const run = await startRun('writable');
    assert.equal(run.podLaunchStatus, 'imageMissing');
    assert.ok(!(await images()).some((entry) => entry.image === 'writable'));
  });

  test("a plugin's own credential cannot list what the Pod launches (403)", async () => {
    const run = await startRun('waiting', {}, {});
    register('waiting', commandOf('waiting', 'wait'));
    await listed('waiting');
    assert.equal(run.podLaunchStatus, 'imageMissing');
    const started = await startRun('waiting');
    assert.equal(started.podLaunchStatus, 'started', started.podLaunchMessage);
    const env = await until("the waiting plugin's environment", () =>
      pluginEnvironment(join(scratch, 'waiting.out.json')),
    );
    const plugin = new PluginCaller(owner, started.id, env);
    const refused = await plugin.fails('plugin_images', {}, 403);
    assert.match(refused.text, /for its owner/);
    await owner.ok('abort_plugin_run', started.id);
  });

  describe("a run's settings", () => {
    const declared = JSON.stringify({ max: { type: 'Integer', default: 10 }, label: { type: 'Text', required: true } });
    before(() => void register('configured', commandOf('configured')));

    test('a setting the Plugin does not declare: refused, never started', async () => {
      await listed('configured');
      const run = await startRun(
        'configured',
        { configJson: declared },
        { config: JSON.stringify({ label: 'x', rogue: 1 }) },
      );
      assert.equal(run.podLaunchStatus, 'refused');
      assert.match(run.podLaunchMessage, /setting "rogue" is not declared by the plugin/);
      assert.ok(!existsSync(join(scratch, 'configured.out.json')), 'the plugin never started');
    });

    test('a setting of the wrong type, a missing required one, or any setting for a Plugin declaring none: refused', async () => {
      const wrongType = await startRun(
        'configured',
        { configJson: declared },
        { config: JSON.stringify({ label: 'x', max: 'ten' }) },
      );
      assert.equal(wrongType.podLaunchStatus, 'refused');
      assert.match(wrongType.podLaunchMessage, /setting "max" must be Integer, not "ten"/);
      const missing = await startRun('configured', { configJson: declared }, { config: '{}' });
      assert.match(missing.podLaunchMessage, /setting "label" \(Text\) is required/);
      const undeclared = await startRun('configured', {}, { config: JSON.stringify({ max: 3 }) });
      assert.match(undeclared.podLaunchMessage, /it declares none/);
      assert.ok(!existsSync(join(scratch, 'configured.out.json')), 'the plugin never started');
    });

    test('settings that fit start the run', async () => {
      const run = await startRun(
        'configured',
        { configJson: declared },
        { config: JSON.stringify({ label: 'ok', max: 3 }) },
      );
      assert.notEqual(run.podLaunchStatus, 'refused', run.podLaunchMessage);
      await until('the configured plugin to have run', () =>
        existsSync(join(scratch, 'configured.out.json')) ? true : undefined,
      );
    });
  });
});

describe('PluginDir', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'pod-plugin-dir-unit-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('skips a bad file with one log line naming it, and keeps the good ones', () => {
    const dir = join(scratch, 'bad-files');
    const log = recordingLog();
    const folder = new PluginDir(dir, log);
    try {
      writeFileSync(join(dir, 'good.json'), JSON.stringify({ command: ['node', '/x.mjs'] }), { mode: 0o600 });
      writeFileSync(join(dir, 'broken.json'), '{"command": ', { mode: 0o600 });
      writeFileSync(join(dir, 'empty.json'), JSON.stringify({ command: [] }), { mode: 0o600 });
      assert.deepEqual(folder.read(), { good: ['node', '/x.mjs'] });
      folder.read();
      assert.equal(log.lines.filter((line) => line.includes('broken.json')).length, 1, log.lines.join('\n'));
      assert.match(log.lines.find((line) => line.includes('broken.json'))!, /is not JSON/);
      assert.match(log.lines.find((line) => line.includes('empty.json'))!, /non-empty array of strings/);
    } finally {
      folder.close();
    }
  });

  test('ignores the whole folder when its group or others may write it', () => {
    const dir = join(scratch, 'open-folder');
    const log = recordingLog();
    const folder = new PluginDir(dir, log);
    try {
      writeFileSync(join(dir, 'good.json'), JSON.stringify({ command: ['node', '/x.mjs'] }), { mode: 0o600 });
      chmodSync(dir, 0o777);
      assert.deepEqual(folder.read(), {});
      assert.match(log.lines.at(-1)!, /ignoring the plugin folder .*open-folder: it is writable by its group/);
      chmodSync(dir, 0o700);
      assert.deepEqual(folder.read(), { good: ['node', '/x.mjs'] });
    } finally {
      folder.close();
    }
  });
});

test('plugin_images with an unreachable container engine: 503, no host detail in the answer', async () => {
  const socket = join(tmpdir(), 'no-such-engine.sock');
  const plugins = { ...defaultConfig().plugins, runner: 'docker' as const, network: 'host', dockerSocket: socket };
  const pod = await startPod({ plugins });
  try {
    const refused = await new Owner(pod.url).fails('plugin_images', {}, 503);
    assert.match(refused.text, /the docker runner cannot list its images now/);
    assert.ok(!refused.text.includes(socket), refused.text);
  } finally {
    await pod.close();
  }
});
