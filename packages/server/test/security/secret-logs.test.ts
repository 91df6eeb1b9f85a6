/**
 * Review M6/L2: no database key, owner key, plugin credential or SMTP password reaches a log line or
 * an answer body, whatever the URL looks like. A Pod logging at `trace` serves normal traffic, a
 * plugin run, and every malformed URL shape that once leaked (and more); then the whole log and
 * every answer are searched for each secret.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ownerHash } from '../../src/config.js';
import { ProcessRunner } from '../../src/plugins/process-runner.js';
import { Owner, declare, sha256hex, sleep, startPod, type RunningPod } from '../helpers.js';
import { smtpSink, type SmtpSink } from '../smtp-sink.js';

const PLUGIN = fileURLToPath(new URL('../../../test/fixtures/url-shapes-plugin.mjs', import.meta.url));
const SMTP_PASSWORD = 'smtp-password-never-logged';

/** Sends `path` exactly as written (no URL normalization), as a hostile client would. */
function raw(
  base: string,
  method: string,
  path: string,
  body = '',
  headers: Record<string, string> = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      base,
      { method, path, headers: { 'content-type': 'application/json', ...headers } },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve(`${response.statusCode} ${JSON.stringify(response.headers)} ${text}`));
      },
    );
    // A request Node's HTTP parser refuses outright ends with the connection closed: no answer to keep.
    request.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' ? resolve(`closed ${error.message}`) : reject(error),
    );
    request.end(body);
  });
}

describe('no secret reaches a log line or an answer', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'pod-secret-logs-'));
  const credentialFile = join(scratch, 'credential.json');
  let log = '';
  let pod: RunningPod;
  let sink: SmtpSink;
  let owner: Owner;
  const answers: string[] = [];

  before(async () => {
    sink = await smtpSink({ auth: true });
    owner = new Owner('');
    const runner = new ProcessRunner({
      commands: { 'shapes-plugin': [process.execPath, PLUGIN, credentialFile] },
      timeoutSeconds: 30,
    });
    pod = await startPod(
      {
        logLevel: 'trace',
        owners: new Set([ownerHash(owner.owner)]),
        smtp: {
          host: '127.0.0.1',
          port: sink.port,
          secure: false,
          from: 'pod@example.com',
          user: 'pod',
          password: SMTP_PASSWORD,
        },
      },
      {
        runner,
        logStream: new Writable({
          write: (chunk, _encoding, done) => {
            log += chunk;
            done();
          },
        }),
      },
    );
    owner = new Owner(pod.url, owner.owner, owner.key);
  });
  after(async () => {
    await pod.close();
    await sink.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('normal traffic, a plugin run and every malformed URL shape', async () => {
    const { owner: O, key: K, url } = owner;
    const keep = async (answer: Promise<string>) => answers.push(await answer);
    const json = (payload: unknown, databaseKey = K) =>
      JSON.stringify({ auth: { type: 'ClientAuth', databaseKey }, payload });

    // Normal traffic, including a plugin run that works with its credential.
    await owner.ok('bulk', { createItems: [declare('text', 'Text', 'Note'), declare('status', 'Text', 'PluginRun')] });
    const permissions = JSON.stringify({ read: { Note: ['text'] } });
    await owner.ok('bulk', {
      createItems: [
        { type: 'Plugin', id: 'shapes-plugin-item', containerImage: 'shapes-plugin', permissions },
        {
          type: 'PluginRun',
          id: 'shapes-run',
          containerImage: 'shapes-plugin',
          targetItemId: 'shapes-run',
          status: 'created',
        },
      ],
      createEdges: [{ _source: 'shapes-run', _target: 'shapes-plugin-item', _name: 'plugin' }],
    });
    const noteId = await owner.create({ type: 'Note', text: 'hello' });
    await keep(raw(url, 'POST', `/v4/${O}/get_item`, json(noteId)));
    await keep(raw(url, 'POST', `/v4/${O}/search`, json({ type: 'Note' })));
    await keep(raw(url, 'POST', `/v3/${O}/send_email`, json({ to: 'alice@example.org', subject: 's', body: 'b' })));
    const sha = sha256hex('file body');
    await keep(
      raw(url, 'POST', `/v4/${O}/upload_file/${K}/${sha}`, 'file body', { 'content-type': 'application/octet-stream' }),
    );
    await keep(raw(url, 'POST', `/v4/${O}/get_file`, json({ sha256: sha })));
    await keep(raw(url, 'POST', `/v5/${O}/schema`, json({ nodes: {}, meta: { name: 'm', url: '', version: '1' } })));

    // Every URL shape that might carry a key somewhere else than the well-formed routes expect it.
    const clientAuth = encodeURIComponent(JSON.stringify({ type: 'ClientAuth', databaseKey: K }));
    const shapes = [
      `/v4/${O}/upload_file/${K}`,
      `/v4/${O}/upload_file/${K}?sha=${sha}`,
      `/v4/${O}/upload_file/${K}/${sha}?key=${K}`,
      `/v4/${O}/upload_file//${K}/${sha}`,
      `/v4//${O}/upload_file/${K}/${sha}`,
      `//v4/${O}/upload_file/${K}/${sha}`,
      `/UPLOAD_FILE/${K}/${sha}`,
      `/v4/${O}/UPLOAD_FILE/${K}/${sha}`,
      `/V4/${O}/Upload_File/${K}/${sha}`,
      `/v4/${O}/upload_file_b/${clientAuth}`,
      `/v4/${O}/upload_file_b/${clientAuth}/`,
      `/v4/${O}/upload_file/${K}%2F${sha}`,
      `/v4/${O}/upload_file/${K}/%zz`,
      `/v4/${O}/upload_file/${K}${'0'.repeat(10_000)}/${sha}`,
      `/v4/${O}/${K}`,
      `/v4/${K}/search`,
      `/${K}`,
      `/v4/${O}/search?databaseKey=${K}`,
      `/v4/${O}/search#${K}`,
      `/v5/${O}/schema/${K}`,
      `/v5/${K}/schema`,
      `/v5/${O}/${K}`,
    ];
    for (const path of shapes) {
      await keep(raw(url, 'POST', path, 'x'));
      await keep(raw(url, 'GET', path));
      await keep(
        raw(url, 'OPTIONS', path, '', { origin: 'https://evil.example', 'access-control-request-method': 'POST' }),
      );
      await keep(raw(url, 'POST', path, 'x', { origin: 'https://evil.example' }));
    }
    // Bodies that hold a key where it does not belong: malformed JSON, a key of the wrong shape.
    await keep(raw(url, 'POST', `/v4/${O}/search`, `{"auth":{"type":"ClientAuth","databaseKey":"${K}"`));
    await keep(raw(url, 'POST', `/v4/${O}/search`, json({}, `${K}zz`)));
    await keep(raw(url, 'POST', `/v4/${O}/search`, json({}, 'f'.repeat(64))));

    // The plugin has run to its end.
    const deadline = Date.now() + 20_000;
    let runLogs = '';
    while (!runLogs.includes('done') && Date.now() < deadline) {
      await sleep(100);
      runLogs = await raw(url, 'POST', `/v4/${O}/plugin_run_logs`, json('shapes-run'));
    }
    answers.push(runLogs);
    assert.match(runLogs, /url-shapes plugin done/);
  });

  test('neither the log nor any answer holds a secret; the log names owners by hash', () => {
    assert.ok(existsSync(credentialFile), 'the plugin ran and handed over its credential');
    const credential = JSON.parse(readFileSync(credentialFile, 'utf8'));
    const token = credential.data.token ?? JSON.stringify(credential.data);
    const secrets = {
      'database key': owner.key,
      'owner key': owner.owner,
      'plugin credential': token,
      'SMTP password': SMTP_PASSWORD,
    };
    assert.ok(log.split('\n').length > 150, `the log was captured at trace level (${log.split('\n').length} lines)`);
    assert.match(
      log,
      new RegExp(`<owner:${ownerHash(owner.owner).slice(0, 16)}>`),
      'request lines name the owner by its hash',
    );
    for (const [name, secret] of Object.entries(secrets)) {
      for (const variant of [secret, secret.toUpperCase(), encodeURIComponent(secret)]) {
        const logLine = log.split('\n').find((line) => line.includes(variant));
        assert.equal(logLine, undefined, `the ${name} is in the log: ${logLine}`);
        const answer = answers.find((text) => text.includes(variant));
        assert.equal(answer, undefined, `the ${name} is in an answer: ${answer?.slice(0, 500)}`);
      }
    }
  });
});
