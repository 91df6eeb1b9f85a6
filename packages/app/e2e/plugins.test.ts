/**
 * Issue 14, plugins: a real Pod whose process runner starts the kit's example importer behind a
 * password and 2FA log-in (fixtures/importer-with-log-in.ts) and the kit's OAuth test plugin. In
 * the app, as the owner would: install from the manifest after reading its permissions, start a
 * run, answer the prompts that open wherever the owner is (a refused code shows the plugin's reason
 * and asks again), the OAuth redirect coming back to the app, the log, an abort. The Pod's state is
 * checked through the API.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Account, Message, Person, PodClient } from '@pod/client';
import { PluginRunItem } from '@pod/plugin-kit';
import { defaultConfig } from '@pod/server';
import type { Page } from 'playwright-core';
import { noBrowser, screenshot, useLab } from './browser.js';
import { CODE_MESSAGE, LOG_IN } from './fixtures/importer-with-log-in.js';

const IMPORTER = 'demo-importer';
const OAUTH = 'oauth-demo';
const file = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));
/** The kit's template manifest, filled in as `pod-plugin new` does. */
const manifest = (name: string, image: string) =>
  readFileSync(file('../../../plugin-kit/template/plugin.json'), 'utf8')
    .replaceAll('{{name}}', name)
    .replaceAll('{{image}}', image);

describe('the app: plugins and what their runs ask', { skip: noBrowser }, () => {
  const lab = useLab({
    plugins: {
      ...defaultConfig().plugins,
      runner: 'process',
      timeoutSeconds: 60,
      commands: {
        [IMPORTER]: [process.execPath, file('./fixtures/importer-with-log-in.js')],
        [OAUTH]: [process.execPath, file('../../../plugin-kit/dist/test/fixtures/plugins.js'), 'oauth'],
      },
    },
  });

  /** A new owner, signed in to the app by the address's fragment; console output is kept to check for secrets. */
  async function signedIn() {
    const owner = new PodClient({ url: lab().pod.url });
    await owner.addToSchema(Message, Person, Account);
    const { page, foreignRequests } = await lab().page();
    const logged: string[] = [];
    page.on('console', (message) => logged.push(message.text()));
    await page.goto(`${lab().pod.url}/#ownerKey=${owner.ownerKey}&databaseKey=${owner.databaseKey}`);
    await page.getByRole('heading', { name: 'Your data' }).waitFor();
    return { owner, page, foreignRequests, logged };
  }

  /** Installs through the install view, from a file or pasted, after the permissions are shown. */
  async function install(page: Page, text: string, how: 'file' | 'paste', permissions: RegExp[]) {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Plugins' }).click();
    await page.getByRole('link', { name: 'Install a plugin' }).click();
    if (how === 'file') {
      const path = join(tmpdir(), `plugin-${process.pid}.json`);
      writeFileSync(path, text);
      await page.getByLabel('Manifest file (plugin.json)').setInputFiles(path);
    } else {
      await page.getByLabel('Or paste the manifest').fill(text);
      await page.getByRole('button', { name: 'Check the manifest' }).click();
    }
    const shown = page.getByRole('list', { name: 'What it may do' });
    await shown.waitFor();
    const words = (await shown.textContent()) ?? '';
    for (const permission of permissions) assert.match(words, permission);
    const question = page.getByRole('heading', { name: /^Install .*\?$/ });
    assert.equal(
      await question.evaluate((heading) => heading === document.activeElement),
      true,
      'focus on the question',
    );
    return page.getByRole('button', { name: 'Install with these permissions' });
  }

  const runsOf = (owner: PodClient) => owner.call('search', { type: 'PluginRun' });
  async function untilRun(owner: PodClient, holds: (run: Record<string, unknown>) => boolean, what: string) {
    for (const deadline = Date.now() + 30_000; ; await new Promise((resolve) => setTimeout(resolve, 100))) {
      const found = (await runsOf(owner)).find((run) => holds(run as Record<string, unknown>));
      if (found) return found as Record<string, unknown>;
      if (Date.now() > deadline) assert.fail(`no run ${what} within 30 s: ${JSON.stringify(await runsOf(owner))}`);
    }
  }

  test('install the importer, start a run, answer its log-in prompts (a wrong code is asked again) until done', async () => {
    const { owner, page, foreignRequests, logged } = await signedIn();
    const confirm = await install(page, manifest('Demo importer', IMPORTER), 'file', [
      /creates Messages, and changes and deletes only the ones it made/,
      /creates Accounts/,
      /creates Persons/,
      /logs in to your Demo account/,
    ]);
    await screenshot(page, 'plugin-install');
    assert.equal((await owner.call('search', { type: 'Plugin' })).length, 0, 'nothing before the owner confirms');
    await confirm.click();
    const card = page.getByRole('article', { name: 'Demo importer' });
    await card.waitFor();
    const [plugin] = (await owner.call('search', { type: 'Plugin' })) as Record<string, unknown>[];
    assert.equal(plugin?.containerImage, IMPORTER);
    assert.deepEqual(JSON.parse(plugin?.permissions as string), {
      read: {},
      write: { Message: '*', Account: '*', Person: '*' },
      email: false,
    });

    await card.getByRole('button', { name: 'Start a run' }).click();
    // the owner goes elsewhere in the app: the prompt finds them there
    await page.getByRole('link', { name: 'Overview' }).click();
    const credentials = page.getByRole('dialog', { name: /Demo importer asks you to log in to your Demo account/ });
    await credentials.waitFor();
    await credentials.getByLabel('Username').fill(LOG_IN.username);
    await credentials.getByLabel('Password').fill(LOG_IN.password);
    await screenshot(page, 'plugin-prompt-credentials');
    await credentials.getByRole('button', { name: 'Send' }).click();

    const code = page.getByRole('dialog', { name: 'Demo importer asks for a code' });
    await code.getByText(CODE_MESSAGE).waitFor();
    await code.getByLabel('Code').fill('000000');
    await code.getByRole('button', { name: 'Send' }).click();
    const refused = code.getByRole('alert').filter({ hasText: 'the service refused the code; try again (attempt 2' });
    await refused.waitFor();
    assert.match((await refused.textContent()) ?? '', /Not accepted: .*Enter the code we texted/);
    assert.equal(await code.getByLabel('Code').inputValue(), '', 'asked again with an empty field');
    await screenshot(page, 'plugin-prompt-code-refused');
    await code.getByLabel('Code').fill(LOG_IN.code);
    await code.getByRole('button', { name: 'Send' }).click();
    await code.waitFor({ state: 'hidden' });

    await page.getByRole('link', { name: 'Plugins' }).click();
    const run = card.getByRole('listitem').filter({ hasText: 'done' });
    await run.waitFor({ timeout: 30_000 });
    const [done] = (await runsOf(owner)) as Record<string, unknown>[];
    assert.equal(done?.status, 'done', JSON.stringify(done));
    assert.equal(done?.progress, 1);
    assert.equal(done?.authResponse, undefined, 'the code does not stay on the run');
    const messages = await owner.search(Message, { service: 'demo' });
    assert.deepEqual(messages.map((message) => message.externalId).sort(), ['p1', 'p2', 'p3', 'p4', 'p5']);
    const [account] = (await owner.search(Account, { service: 'demo', isMe: true })) as Account[];
    assert.equal(account?.identifier, LOG_IN.username);
    assert.equal(account?.accessToken, 'token for the session of ada');

    await run.getByRole('button', { name: 'Show the log' }).click();
    await card
      .getByRole('region', { name: /Log of the run/ })
      .getByText('5 new of 5 posts')
      .waitFor();
    await screenshot(page, 'plugins');

    const storage = await page.evaluate(() => JSON.stringify([localStorage, sessionStorage]));
    for (const secret of [LOG_IN.password, LOG_IN.code, '000000']) {
      assert.equal(storage.includes(secret), false, 'no answer is kept in the browser');
      assert.equal(
        logged.some((line) => line.includes(secret)),
        false,
        'no answer reaches the console',
      );
    }
    assert.deepEqual(foreignRequests, []);
  });

  test('OAuth: the service page redirects back to the app, which passes the answer to the run', async () => {
    const { owner, page, context } = await (async () => {
      const signed = await signedIn();
      return { ...signed, context: signed.page.context() };
    })();
    // the service's page stands in here: it grants at once and redirects to the Pod's address
    await context.route('https://auth.example.com/**', (route) => {
      const state = new URL(route.request().url()).searchParams.get('state');
      return route.fulfill({ status: 302, headers: { location: `${lab().pod.url}/?code=good-code&state=${state}` } });
    });
    const confirm = await install(page, manifest('OAuth demo', OAUTH), 'paste', [/logs in to your Demo account/]);
    await confirm.click();
    const card = page.getByRole('article', { name: 'OAuth demo' });
    await card.getByRole('button', { name: 'Start a run' }).click();
    const dialog = page.getByRole('dialog', { name: 'OAuth demo asks for access to your Demo account' });
    await dialog.waitFor();
    await screenshot(page, 'plugin-prompt-oauth');
    await dialog.getByRole('link', { name: 'Open the page that asks for your permission' }).click();
    await page.getByText('Your permission was passed to OAuth demo; it goes on.').waitFor();
    assert.equal(page.url(), `${lab().pod.url}/#/oauth-return`, 'the code is out of the address bar');
    const done = await untilRun(owner, (run) => run.status === 'done', 'done');
    assert.equal(done.authUrl, undefined);
    const [account] = (await owner.search(Account, { service: 'demo', isMe: true })) as Account[];
    assert.equal(account?.accessToken, 'oauth-access');
  });

  test('Escape puts a prompt off, focus goes back; the run is aborted from the Plugins view', async () => {
    const { owner, page } = await signedIn();
    await page.setViewportSize({ width: 390, height: 844 });
    const confirm = await install(page, manifest('OAuth demo', OAUTH), 'paste', [/logs in to your Demo account/]);
    await confirm.click();
    const card = page.getByRole('article', { name: 'OAuth demo' });
    const start = card.getByRole('button', { name: 'Start a run' });
    await start.click();
    const dialog = page.getByRole('dialog', { name: /asks for access/ });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await start.evaluate((button) => button === document.activeElement), true, 'focus is back');
    const waiting = card.getByRole('listitem').filter({ hasText: 'waiting for you' });
    await waiting.waitFor();
    await screenshot(page, 'plugins-phone');
    // it can be answered later from the run
    await waiting.getByRole('button', { name: 'Answer' }).click();
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Later' }).click();
    // wherever the owner goes, a put-off question stays in reach
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('button', { name: 'A plugin waits for your answer' }).click();
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('link', { name: 'Plugins' }).click();
    await waiting.getByRole('button', { name: 'Abort' }).click();
    await card.getByRole('listitem').filter({ hasText: 'aborted' }).waitFor();
    const stopped = await untilRun(owner, (run) => run.podLaunchStatus === 'stopped', 'stopped');
    assert.equal(stopped.status, 'aborted');
  });
  test('the permissions in plain words; a broken manifest says why; Cancel installs nothing; run settings are checked', async () => {
    const { owner, page } = await signedIn();
    const digest = {
      name: 'Mail digest',
      image: 'mail-digest',
      permissions: {
        read: { Message: ['subject', 'body'], Person: { properties: '*', where: { service: 'demo' } } },
        write: { Note: { properties: '*', items: 'all' } },
        email: true,
        oauth: ['gitlab'],
      },
      config: { days: { type: 'Integer', default: 7, description: 'how far back' }, dryRun: { type: 'Bool' } },
    };
    const confirm = await install(page, JSON.stringify(digest), 'paste', [
      /reads your Messages \(subject, body\)/,
      /reads your Persons, only those whose service is "demo"/,
      /creates Notes, and may change and delete any of your Notes/,
      /sends email/,
      /uses your GitLab account/,
    ]);
    assert.equal(await confirm.isVisible(), true);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'hidden' });
    assert.deepEqual(await owner.call('search', { type: 'Plugin' }), [], 'Cancel installs nothing');

    const paste = page.getByLabel('Or paste the manifest');
    const checkIt = page.getByRole('button', { name: 'Check the manifest' });
    await paste.fill('{"name": "half a manifest"');
    await checkIt.click();
    await page.getByRole('alert').filter({ hasText: 'This is not JSON' }).waitFor();
    await paste.fill('{"name": "no image"}');
    await checkIt.click();
    await page.getByRole('alert').filter({ hasText: '"image" must be a non-empty string' }).waitFor();
    await paste.fill(JSON.stringify({ ...digest, permissions: { read: { Message: 'some' } } }));
    await checkIt.click();
    await page.getByRole('alert').filter({ hasText: 'cannot be installed: permissions' }).waitFor();
    assert.deepEqual(await owner.call('search', { type: 'Plugin' }), []);

    await paste.fill(JSON.stringify(digest));
    await checkIt.click();
    await confirm.click();
    const card = page.getByRole('article', { name: 'Mail digest' });
    await card.getByLabel(/^days/).fill('a week');
    await card.getByRole('button', { name: 'Start a run' }).click();
    await card.getByRole('alert').filter({ hasText: 'setting "days" must be Integer' }).waitFor();
    assert.deepEqual(await runsOf(owner), [], 'no run for settings that do not fit');
    await card.getByLabel(/^days/).fill('3');
    await card.getByRole('button', { name: 'Start a run' }).click();
    const run = await untilRun(owner, () => true, 'created');
    assert.deepEqual(JSON.parse(run.config as string), { days: 3, dryRun: false });
    // this Pod has no command for the image: the run says so rather than waiting forever
    await card
      .getByRole('listitem')
      .filter({ hasText: /not run/ })
      .waitFor();
  });

  test("a run's request is shown as text, and only a web page is offered as a link", async () => {
    const { owner, page } = await signedIn();
    await owner.addToSchema(PluginRunItem);
    // what a hostile plugin may write on its own run
    await owner.call('create_item', {
      type: 'PluginRun',
      containerImage: 'hostile',
      status: 'userActionNeeded',
      authRequest: 'oauth',
      authUrl: 'javascript:document.title="owned"',
      authMessage: '<img src="x" onerror="document.title=\'owned\'">',
    });
    const dialog = page.getByRole('dialog', { name: 'hostile asks for access to your account at its service' });
    await dialog.getByText('<img src="x" onerror=', { exact: false }).waitFor();
    assert.equal(await dialog.getByRole('link').count(), 0, 'no link to a javascript: address');
    await dialog.getByText('The plugin gave no web page to open').waitFor();
    assert.notEqual(await page.title(), 'owned');
  });
});
