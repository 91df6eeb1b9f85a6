/**
 * `plugin.json` is checked with zod and the Pod's own `Permissions` schema, and a plugin's
 * `POD_TARGET_ITEM` with the protocol's `ReceivedItem`: bad input is refused with what is wrong
 * and where; good input comes through as written.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { environmentFromEnv, readManifest } from '../src/index.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A project directory holding this `plugin.json`. */
function project(manifest: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pod-manifest-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'plugin.json'), JSON.stringify(manifest));
  return dir;
}

describe('readManifest', () => {
  it('fills in entry and config, and keeps permissions exactly as written', () => {
    const permissions = { read: { Note: { where: { kind: 'todo' } } }, write: { Note: ['title'] } };
    const manifest = readManifest(project({ name: 'notes', image: 'notes:1', permissions, extra: true }));
    assert.deepEqual(manifest, {
      name: 'notes',
      image: 'notes:1',
      entry: 'src/main.ts',
      permissions,
      config: {},
    });
  });

  it('reads the settings a run may be given, and refuses ones a run could never fit', () => {
    const config = { max: { type: 'Integer', default: 10 }, dryRun: { type: 'Bool', required: true } };
    assert.deepEqual(readManifest(project({ name: 'n', image: 'x', config })).config, config);
    const wrongDefault = { name: 'n', image: 'x', config: { max: { type: 'Integer', default: 'ten' } } };
    assert.throws(() => readManifest(project(wrongDefault)), /config\.max: its default is not of its type/);
    const unknownType = { name: 'n', image: 'x', config: { max: { type: 'Number' } } };
    assert.throws(() => readManifest(project(unknownType)), /config\.max\.type/);
  });

  it('refuses a missing or empty name and says which field', () => {
    assert.throws(() => readManifest(project({ image: 'x' })), /"name" must be a non-empty string/);
    assert.throws(() => readManifest(project({ name: '', image: 'x' })), /"name" must be a non-empty string/);
  });

  it("refuses permissions the Pod would refuse, with the Pod's message and where", () => {
    const bad = { name: 'n', image: 'x', permissions: { read: { Note: { properties: 7 } } } };
    assert.throws(() => readManifest(project(bad)), /permissions\.read\.Note/);
    const unknownKey = { name: 'n', image: 'x', permissions: { admin: true } };
    assert.throws(() => readManifest(project(unknownKey)), /permissions/);
  });
});

describe('environmentFromEnv', () => {
  const base = { POD_FULL_ADDRESS: 'http://localhost:1', POD_OWNER: 'a'.repeat(64), POD_AUTH_JSON: '{"data":{"t":1}}' };

  it('takes the run id from a POD_TARGET_ITEM that is an item', () => {
    const target = {
      id: 'run123',
      type: 'PluginRun',
      dateCreated: 1,
      dateModified: 1,
      dateServerModified: 1,
      deleted: false,
    };
    const environment = environmentFromEnv({ ...base, POD_TARGET_ITEM: JSON.stringify(target) });
    assert.equal(environment.runId, 'run123');
    assert.equal(environment.target?.type, 'PluginRun');
  });

  it('refuses a POD_TARGET_ITEM that is not an item, saying so', () => {
    assert.throws(
      () => environmentFromEnv({ ...base, POD_TARGET_ITEM: '{"id": 5}' }),
      /POD_TARGET_ITEM is not an item/,
    );
  });
});
