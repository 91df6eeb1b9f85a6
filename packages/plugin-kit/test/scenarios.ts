/**
 * The plugin scenarios, written once and run against each of the Pod's runners (process-runner.test.ts,
 * docker-runner.test.ts): PluginRuns created through the client library, plugins started by the
 * Pod with their own credential, their outcome read back from the run. The test plays the owner's
 * app, answering what a run asks for through items in the Pod.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Account, File, Message, Person, PodClient, PodError } from '@pod/client';
import { readRun } from '../src/index.js';
import type { TestPod } from '../src/testing.js';
import { SERVICE } from '../examples/importer/plugin.js';
import { ended, install, newOwner, runToEnd, start, until } from './helpers.js';
import type { RunnerSetup } from './runners.js';

const IMPORTER_PERMISSIONS = { write: { Message: '*', Account: '*', Person: '*' } } as const;

const readAccount = async (owner: PodClient, id: string) => (await owner.get(id)) as Account;

export function runnerScenarios(setup: RunnerSetup): void {
  describe(`plugins started by the Pod's ${setup.name} runner`, { skip: setup.skip }, () => {
    let pod: TestPod;
    before(async () => {
      pod = await setup.startPod();
    });
    after(async () => {
      // the Pod first: it stops what still runs, then the images can go
      await pod?.close();
      await setup.cleanUp();
    });

    /** A test that first awaits the runner's preparation: without it, each fails saying why. */
    const scenario = (name: string, body: () => Promise<void>) =>
      test(name, async () => {
        await setup.prepare();
        await body();
      });

    describe('the example importer', () => {
      scenario(
        'imports Messages with sender edges, an Account with its Person per author, status done; the next run adds nothing',
        async () => {
          const owner = await newOwner(pod);
          const { plugin } = await install(owner, setup.image('importer'), {
            permissions: IMPORTER_PERMISSIONS,
            service: SERVICE,
          });
          const run = await runToEnd(owner, plugin);
          assert.equal(
            run.status,
            'done',
            `${run.error} / ${run.podLaunchMessage}: ${await owner.call('plugin_run_logs', run.id)}`,
          );
          assert.equal(run.progress, 1);
          assert.equal(run.podLaunchStatus, 'exited');
          assert.equal(run.podExitCode, 0);

          const messages = await owner.search(Message, { service: SERVICE }, { edges: true });
          assert.deepEqual(messages.map((message) => message.externalId).sort(), ['p1', 'p2', 'p3', 'p4', 'p5']);
          const accounts = (await owner.search(Account, { service: SERVICE }, { edges: true })).filter(
            (account) => !account.isMe,
          );
          assert.deepEqual(accounts.map((account) => account.handle).sort(), ['@ada', '@bob', '@cy']);
          for (const account of accounts) assert.equal(account.owner[0]?.displayName, account.displayName);
          assert.equal((await owner.search(Person)).length, 3);
          const authorOf = Object.fromEntries(
            messages.map((message) => [message.externalId, message.sender[0]?.handle]),
          );
          assert.deepEqual(authorOf, { p1: '@ada', p2: '@bob', p3: '@ada', p4: '@cy', p5: '@bob' });

          const again = await runToEnd(owner, plugin);
          assert.equal(again.status, 'done', again.error ?? undefined);
          assert.equal((await owner.search(Message)).length, 5);
          assert.equal(
            (await owner.search(Account, { service: SERVICE })).filter((account) => !account.isMe).length,
            3,
          );
          assert.equal((await owner.search(Person)).length, 3);
          assert.deepEqual(await setup.remains(run.id), [], 'nothing of the run is left');
        },
      );
    });

    describe('failures', () => {
      scenario('a plugin that throws ends in error with its message, and exits non-zero', async () => {
        const owner = await newOwner(pod);
        const { plugin } = await install(owner, setup.image('throws'));
        const run = await runToEnd(owner, plugin);
        assert.equal(run.status, 'error');
        assert.equal(run.error, 'the service is down');
        assert.equal(run.progress, 0.5);
        assert.equal(run.podLaunchStatus, 'exited');
        assert.equal(run.podExitCode, 1);
      });

      scenario('reading a type the Plugin did not declare is refused (403), and the run says so', async () => {
        const owner = await newOwner(pod);
        await owner.create(new Person({ firstName: 'Private' }));
        const { plugin } = await install(owner, setup.image('reads-undeclared'), {
          permissions: { write: { Message: '*' } },
        });
        const run = await runToEnd(owner, plugin);
        assert.equal(run.status, 'error');
        assert.match(run.error ?? '', /did not declare that it reads items of type "Person".*HTTP 403 from search/);
        assert.equal(run.podExitCode, 1);
      });

      scenario("a run's credential works during the run and is refused (401) once it has ended", async () => {
        const owner = await newOwner(pod);
        for (const [propertyName, valueType] of [
          ['handedOver', 'Text'],
          ['released', 'Bool'],
        ])
          await owner.call('create_item', {
            type: 'ItemPropertySchema',
            itemType: 'PluginRun',
            propertyName,
            valueType,
          });
        const { plugin } = await install(owner, setup.image('hands-over-credential'));
        const run = await start(owner, plugin);
        let handedOver: string | undefined;
        for (
          const deadline = Date.now() + 20_000;
          !handedOver;
          await new Promise((resolve) => setTimeout(resolve, 50))
        ) {
          handedOver = ((await owner.call('get_item', run.id)) as { handedOver?: string }[])[0]?.handedOver;
          if (!handedOver && Date.now() > deadline)
            assert.fail(`no credential on the run within 20 s: ${await owner.call('plugin_run_logs', run.id)}`);
        }
        const credential = new PodClient({
          url: pod.url,
          ownerKey: owner.ownerKey,
          pluginAuth: JSON.parse(handedOver).data,
        });
        try {
          // the plugin waits to be released: its run is still going
          assert.equal((await readRun(credential, run.id)).id, run.id, 'the credential works during its run');
        } finally {
          await owner.call('update_item', { id: run.id, released: true });
        }
        const done = await ended(owner, run.id);
        assert.equal(done.status, 'done', done.error ?? undefined);
        await assert.rejects(credential.call('get_item', run.id), (error: unknown) => {
          assert.ok(error instanceof PodError, String(error));
          assert.equal(error.status, 401);
          return true;
        });
      });
    });

    describe('username and password, then a two-factor code', () => {
      scenario(
        'asks for the credentials, then the code; stores the tokens on the Account; the next run reuses them',
        async () => {
          const owner = await newOwner(pod);
          const { plugin, account } = await install(owner, setup.image('password'), { service: 'demo' });
          const run = await start(owner, plugin);

          const asking = await until(
            owner,
            run.id,
            (r) => r.authRequest === 'credentials',
            'the plugin asks for credentials',
          );
          assert.equal(asking.status, 'userActionNeeded');
          assert.match(asking.authMessage ?? '', /username .* and password of your demo account/);
          assert.deepEqual(
            await owner.call('plugin/status', { plugins: [run.id] }),
            { plugins: { [run.id]: { status: 'started' } } },
            "the kit's web server answers the Pod's health check while the run waits",
          );
          Object.assign(account!, { identifier: 'alice', password: 'hunter2' });
          await owner.update(account!);

          const code = await until(owner, run.id, (r) => r.authRequest === '2fa', 'the plugin asks for the code');
          assert.equal(code.status, 'userActionNeeded');
          assert.equal(code.authMessage, 'Enter the code we texted to +31 6 ••• 42');
          code.authResponse = '123456';
          await owner.update(code);

          const done = await ended(owner, run.id);
          assert.equal(done.status, 'done', done.error ?? undefined);
          for (const field of ['authRequest', 'authMessage', 'authUrl', 'authResponse'] as const)
            assert.equal(done[field], undefined, field);
          const stored = await readAccount(owner, account!.id);
          assert.equal(stored.accessToken, 'access-alice');
          assert.equal(stored.refreshToken, 'refresh-alice');
          assert.equal(stored.errorMessage, undefined);

          const next = await runToEnd(owner, plugin);
          assert.equal(next.status, 'done', 'logged in with the stored token, asking nothing');
        },
      );

      scenario('a wrong code is asked for again with the reason; the right one then logs in', async () => {
        const owner = await newOwner(pod);
        const { plugin, account } = await install(owner, setup.image('password'), { service: 'demo' });
        Object.assign(account!, { identifier: 'alice', password: 'hunter2' });
        await owner.update(account!);
        const run = await start(owner, plugin);
        const code = await until(owner, run.id, (r) => r.authRequest === '2fa', 'the plugin asks for the code');
        code.authResponse = '000000';
        await owner.update(code);
        const again = await until(
          owner,
          run.id,
          (r) => r.authRequest === '2fa' && /attempt 2/.test(r.authMessage ?? ''),
          'the plugin asks again',
        );
        assert.equal(
          again.authMessage,
          'the service refused the code; try again (attempt 2 of 3): Enter the code we texted to +31 6 ••• 42',
        );
        assert.equal(again.authResponse, undefined, 'the wrong code does not stay on the run');
        again.authResponse = '123456';
        await owner.update(again);
        const done = await ended(owner, run.id);
        assert.equal(done.status, 'done', done.error ?? undefined);
        assert.equal((await readAccount(owner, account!.id)).accessToken, 'access-alice');
      });

      scenario('three wrong codes end the run in error and leave the reason in the Account errorMessage', async () => {
        const owner = await newOwner(pod);
        const { plugin, account } = await install(owner, setup.image('password'), { service: 'demo' });
        Object.assign(account!, { identifier: 'alice', password: 'hunter2' });
        await owner.update(account!);
        const run = await start(owner, plugin);
        for (const attempt of [1, 2, 3]) {
          const code = await until(
            owner,
            run.id,
            (r) => r.authRequest === '2fa' && (attempt === 1 || r.authMessage!.includes(`attempt ${attempt}`)),
            `code ${attempt}`,
          );
          code.authResponse = '000000';
          await owner.update(code);
        }
        const failed = await ended(owner, run.id);
        assert.equal(failed.status, 'error');
        assert.equal(failed.error, 'the service refused the code');
        assert.equal(failed.authResponse, undefined, 'the code does not stay on the run');
        const stored = await readAccount(owner, account!.id);
        assert.equal(stored.errorMessage, 'the service refused the code');
        assert.equal(stored.accessToken, undefined);
      });

      scenario('a refused password is erased from the Account and asked for again', async () => {
        const owner = await newOwner(pod);
        const { plugin, account } = await install(owner, setup.image('password'), { service: 'demo' });
        Object.assign(account!, { identifier: 'alice', password: 'wrong' });
        await owner.update(account!);
        const run = await start(owner, plugin);
        const asking = await until(
          owner,
          run.id,
          (r) => r.authRequest === 'credentials',
          'the plugin asks for credentials again',
        );
        assert.match(
          asking.authMessage ?? '',
          /^the service refused the username or password; try again \(attempt 2 of 3\): Set the username/,
        );
        const stored = await readAccount(owner, account!.id);
        assert.equal(stored.password, undefined, 'the refused password is gone');
        Object.assign(stored, { password: 'hunter2' });
        await owner.update(stored);
        await until(owner, run.id, (r) => r.authRequest === '2fa', 'the plugin asks for the code');
        await owner.call('abort_plugin_run', run.id);
        assert.equal((await ended(owner, run.id)).status, 'aborted');
      });
    });

    describe('OAuth', () => {
      scenario('shows the authorization URL, takes the redirect back, stores access and refresh token', async () => {
        const owner = await newOwner(pod);
        const { plugin, account } = await install(owner, setup.image('oauth'), { service: 'demo' });
        const run = await start(owner, plugin);
        const asking = await until(owner, run.id, (r) => r.authRequest === 'oauth', 'the plugin asks to authorize');
        assert.equal(asking.status, 'userActionNeeded');
        const url = new URL(asking.authUrl!);
        assert.equal(url.origin + url.pathname, 'https://auth.example.com/authorize');
        const state = url.searchParams.get('state');
        assert.match(state ?? '', /^[0-9a-f]{32}$/);
        // the owner's browser comes back to the app's redirect address, which the app passes on
        asking.authResponse = `https://app.example.com/callback?code=good-code&state=${state}`;
        await owner.update(asking);

        const done = await ended(owner, run.id);
        assert.equal(done.status, 'done', done.error ?? undefined);
        assert.equal(done.authUrl, undefined);
        const stored = await readAccount(owner, account!.id);
        assert.equal(stored.accessToken, 'oauth-access');
        assert.equal(stored.refreshToken, 'oauth-refresh');
      });

      scenario(
        'a redirect with another state is refused and asked for again with a new state; the third ends the run, the Account says why',
        async () => {
          const owner = await newOwner(pod);
          const { plugin, account } = await install(owner, setup.image('oauth'), { service: 'demo' });
          const run = await start(owner, plugin);
          const states = new Set<string>();
          for (const attempt of [1, 2, 3]) {
            const asking = await until(
              owner,
              run.id,
              (r) => r.authRequest === 'oauth' && (attempt === 1 || r.authMessage!.includes(`attempt ${attempt}`)),
              `request ${attempt}`,
            );
            if (attempt > 1)
              assert.match(
                asking.authMessage!,
                /^the redirect does not carry the state this log-in sent: .*; try again \(attempt \d of 3\)/,
              );
            states.add(new URL(asking.authUrl!).searchParams.get('state')!);
            asking.authResponse = 'https://app.example.com/callback?code=good-code&state=forged';
            await owner.update(asking);
          }
          assert.equal(states.size, 3, 'each question has its own state');
          const failed = await ended(owner, run.id);
          assert.equal(failed.status, 'error');
          assert.match((await readAccount(owner, account!.id)).errorMessage ?? '', /does not carry the state/);
        },
      );

      scenario('an owner who never answers: the run ends in error after the timeout', async () => {
        const owner = await newOwner(pod);
        const { plugin, account } = await install(owner, setup.image('oauth-impatient'), { service: 'demo' });
        const failed = await runToEnd(owner, plugin);
        assert.equal(failed.status, 'error');
        assert.match(failed.error ?? '', /did not answer the "oauth" request within 2 s/);
        assert.equal(failed.authRequest, undefined, 'the request is withdrawn');
        assert.match((await readAccount(owner, account!.id)).errorMessage ?? '', /did not answer/);
      });

      scenario(
        `aborting a run that waits for the owner stops its ${setup.name === 'docker' ? 'container' : 'process'} and keeps status aborted`,
        async () => {
          const owner = await newOwner(pod);
          const { plugin } = await install(owner, setup.image('oauth'), { service: 'demo' });
          const run = await start(owner, plugin);
          await until(owner, run.id, (r) => r.authRequest === 'oauth', 'the plugin asks to authorize');
          assert.equal(
            (await setup.remains(run.id)).length,
            1,
            `the run's ${setup.name === 'docker' ? 'container' : 'process'} is there`,
          );
          await owner.call('abort_plugin_run', run.id);
          const stopped = await ended(owner, run.id);
          assert.equal(stopped.status, 'aborted');
          assert.equal(stopped.podLaunchStatus, 'stopped');
          assert.deepEqual(await setup.remains(run.id), [], 'nothing of the run is left');
        },
      );
    });

    describe('a Python plugin of the original kind (standard library only)', () => {
      scenario('runs to done and stores its file through upload_file_b', async () => {
        const owner = await newOwner(pod);
        await owner.addToSchema(File);
        const { plugin } = await install(owner, setup.image('python'), { permissions: { write: { File: '*' } } });
        const run = await runToEnd(owner, plugin);
        assert.equal(run.status, 'done', `${run.podLaunchMessage}: ${await owner.call('plugin_run_logs', run.id)}`);
        assert.equal(run.progress, 1);
        assert.equal(run.podExitCode, 0);
        const [file] = await owner.search(File, { filename: 'python-plugin.txt' });
        assert.ok(file, 'the plugin created its File item');
        assert.equal(
          new TextDecoder().decode(await owner.getFile(file)),
          `written by the Python plugin in run ${run.id}\n`,
        );
      });
    });
  });
}
