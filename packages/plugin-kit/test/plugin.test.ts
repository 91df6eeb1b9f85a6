/**
 * What needs no runner: plugins run in this process (`simulateRun`), `findExisting` and
 * `authorizationCode`. The same plugins started by the Pod, through each runner: scenarios.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Account, Message, PluginRun, PodClient, defineItem } from '@pod/client';
import {
  AccountItem,
  PluginBase,
  PluginRunItem,
  authorizationCode,
  findExisting,
  parseCursors,
  simulateRun,
  type PluginClass,
} from '../src/index.js';
import { startTestPod, type TestPod } from '../src/testing.js';
import Importer, { SERVICE } from '../examples/importer/plugin.js';
import { DEMO_POSTS, DemoService, type Post } from '../examples/importer/service.js';
import { install, newOwner } from './helpers.js';

const IMPORTER_PERMISSIONS = { write: { Message: '*', Account: '*', Person: '*' } } as const;

let pod: TestPod;
before(async () => {
  pod = await startTestPod();
});
after(() => pod.close());

describe('the example importer, run in process', () => {
  test('continues from the last import: new posts only, known authors reused', async () => {
    const owner = await newOwner(pod);
    const { plugin } = await install(owner, 'importer', { permissions: IMPORTER_PERMISSIONS, service: SERVICE });
    const importing = (posts: number): PluginClass =>
      class extends Importer {
        override service = new DemoService(DEMO_POSTS.slice(0, posts));
      };
    assert.equal((await simulateRun(owner, importing(2), plugin)).status, 'done');
    assert.equal((await owner.search(Message)).length, 2);
    const outcome = await simulateRun(owner, importing(4), plugin);
    assert.equal(outcome.status, 'done', outcome.error);
    assert.equal(outcome.run.progress, 1);
    assert.deepEqual(
      (await owner.search(Message)).map((message) => message.externalId),
      ['p1', 'p2', 'p3', 'p4'],
    );
    const authors = (await owner.search(Account)).filter((account) => !account.isMe);
    assert.deepEqual(
      authors.map((account) => account.handle),
      ['@ada', '@bob', '@cy'],
    );
  });
});

describe('the import cursor', () => {
  /** A service that records which posts it handed out. */
  class RecordingService extends DemoService {
    readonly fetched: string[] = [];
    override async postsSince(since: number): Promise<Post[]> {
      const posts = await super.postsSince(since);
      this.fetched.push(...posts.map((post) => post.id));
      return posts;
    }
  }

  test("is the importer's own: after the owner edits an old imported item, the next run fetches only from where the last one ended", async () => {
    const owner = await newOwner(pod);
    const { plugin, account } = await install(owner, 'importer', {
      permissions: IMPORTER_PERMISSIONS,
      service: SERVICE,
    });
    const first = new RecordingService(DEMO_POSTS.slice(0, 3));
    const second = new RecordingService(DEMO_POSTS);
    const withService = (service: DemoService): PluginClass =>
      class extends Importer {
        override service = service;
      };
    assert.equal((await simulateRun(owner, withService(first), plugin)).status, 'done');
    assert.deepEqual(first.fetched, ['p1', 'p2', 'p3']);

    const [oldest] = await owner.search(Message, { externalId: 'p1' });
    oldest!.content = 'edited by the owner';
    await owner.update(oldest!);

    const outcome = await simulateRun(owner, withService(second), plugin);
    assert.equal(outcome.status, 'done', outcome.error);
    // the service's "since" is inclusive: the post at the cursor comes again, and is skipped as known
    assert.deepEqual(second.fetched, ['p3', 'p4', 'p5']);
    assert.deepEqual((await owner.search(Message)).map((message) => message.externalId).sort(), [
      'p1',
      'p2',
      'p3',
      'p4',
      'p5',
    ]);
    const stored = await owner.get(account!.id);
    assert.ok(stored instanceof AccountItem);
    assert.deepEqual(
      parseCursors(stored.importCursors),
      { [plugin.id]: DEMO_POSTS[4]!.date },
      'kept per Plugin on its Account',
    );
  });
});

describe('findExisting', () => {
  test('finds items by external id in one request, deleted ones too, within the extra filters', async () => {
    const owner = await newOwner(pod);
    const [a, b, other] = [
      new Message({ externalId: 'a', service: 'x' }),
      new Message({ externalId: 'b', service: 'x' }),
      new Message({ externalId: 'c', service: 'y' }),
    ];
    await owner.bulk({ createItems: [a, b, other] });
    await owner.delete(b);
    const found = await findExisting(owner, Message, ['a', 'b', 'c', 'd', 'a'], { where: { service: 'x' } });
    assert.deepEqual([...found.keys()], ['a', 'b']);
    assert.ok(found.get('a') instanceof Message);
    assert.equal(found.get('b')?.deleted, true);
    assert.equal((await findExisting(owner, Message, [])).size, 0);
  });
});

describe('authorizationCode', () => {
  test('takes the code from a redirect URL or query with the right state, or a bare code', () => {
    assert.equal(authorizationCode('https://x.example/cb?code=abc&state=s1', 's1'), 'abc');
    assert.equal(authorizationCode('code=abc&state=s1', 's1'), 'abc');
    assert.equal(authorizationCode('abc', 's1'), 'abc');
    assert.throws(() => authorizationCode('https://x.example/cb?code=abc&state=s2', 's1'), /state/);
    assert.throws(
      () => authorizationCode('https://x.example/cb?error=access_denied&state=s1', 's1'),
      /refused access: access_denied/,
    );
  });
});

describe('item classes of a plugin', () => {
  test("a plugin reads its run and target into its own classes, and leaves the given client's alone", async () => {
    class Note extends defineItem('Note', { title: 'Text' }) {}
    const owner = await newOwner(pod);
    await owner.addToSchema(Note);
    const note = await owner.create(new Note({ title: 'read me' }));
    const { plugin } = await install(owner, 'reader', {});
    const run = new PluginRunItem({ containerImage: 'none', targetItemId: note.id });
    await owner.bulk({ createItems: [run], createEdges: [{ source: run, name: 'plugin', target: plugin }] });
    const seen: unknown[] = [];
    class Reader extends PluginBase {
      static override readonly itemClasses = [Note];
      async run() {
        seen.push(this.pluginRun instanceof PluginRunItem, this.target instanceof Note && this.target.title);
      }
    }
    // A client of the same owner that registered nothing: the run leaves it reading the built-in classes.
    const client = new PodClient({ url: pod.url, ownerKey: owner.ownerKey, databaseKey: owner.databaseKey });
    const outcome = await PluginBase.execute(Reader, { client, runId: run.id });
    assert.equal(outcome.status, 'done', outcome.error);
    assert.deepEqual(seen, [true, 'read me']);
    assert.equal(client.classes.get('PluginRun'), PluginRun);
    assert.equal(client.classes.get('Note'), undefined);
  });
});

describe('logInWithOAuth with fresh', () => {
  test('asks the owner although the Account holds a token, and takes only a new one as the answer', async () => {
    const owner = await newOwner(pod);
    const { plugin, account } = await install(owner, 'oauth-fresh', { service: 'demo' });
    Object.assign(account!, { accessToken: 'refused-token' });
    await owner.update(account!);
    const exchanged: string[] = [];
    class FreshOAuth extends PluginBase {
      override async run() {
        const login = {
          authorizationUrl: (state: string) => `https://auth.example.com/authorize?state=${state}`,
          exchangeCode: async (code: string) => {
            exchanged.push(code);
            return { accessToken: `new-token-${code}` };
          },
        };
        await this.logInWithOAuth(login, { fresh: true, pollMs: 20, timeoutMs: 10_000 });
      }
    }
    const running = simulateRun(owner, FreshOAuth, plugin);
    const runId = await new Promise<string>((resolve, reject) => {
      const look = async () => {
        const [asking] = await owner.search(PluginRunItem, { authRequest: 'oauth' });
        if (asking) resolve(asking.id);
        else setTimeout(() => look().catch(reject), 20);
      };
      look().catch(reject);
    });
    const [asking] = await owner.call('get_item', runId);
    const state = new URL(String(asking!.authUrl)).searchParams.get('state');
    await owner.call('update_item', { id: runId, authResponse: `https://app.example.com/cb?code=c0de&state=${state}` });
    const outcome = await running;
    assert.equal(outcome.status, 'done', outcome.error);
    assert.deepEqual(exchanged, ['c0de'], 'the code was exchanged: the refused token did not count as the answer');
    const [stored] = await owner.search(AccountItem, { id: account!.id });
    assert.equal(stored!.accessToken, 'new-token-c0de');
  });
});
