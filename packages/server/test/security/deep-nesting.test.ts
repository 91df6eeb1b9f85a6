// L11: a deeply nested value in any field is a 400 saying what was expected, never a 500.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Owner, rawPost, usePod } from '../helpers.js';

/** `[[[…0…]]]` nested `depth` levels, as JSON text (too deep to build as an object and stringify). */
const nested = (depth: number) => `${'['.repeat(depth)}0${']'.repeat(depth)}`;
const DEEP = nested(10_000);

describe('L11: deeply nested values', () => {
  const pod = usePod();

  test('in every field of every JSON endpoint: 400, never 500', async () => {
    const o = new Owner(pod().url);
    await o.declare(['title', 'Text']);
    const id = await o.create({ type: 'Note', title: 't' });
    const payloads: [string, string][] = [
      ['create_item', `{"type":"Note","deleted":${DEEP}}`],
      ['create_item', `{"type":"Note","dateCreated":${DEEP}}`],
      ['create_item', `{"type":"Note","dateModified":${DEEP}}`],
      ['create_item', `{"type":"Note","title":${DEEP}}`],
      ['create_item', `{"type":${DEEP}}`],
      ['create_item', `{"type":"Note","id":${DEEP}}`],
      ['create_item', `{"type":"ItemPropertySchema","itemType":"Note","propertyName":${DEEP},"valueType":"Text"}`],
      ['create_item', `{"type":"ItemPropertySchema","itemType":"Note","propertyName":"x","valueType":${DEEP}}`],
      ['update_item', `{"id":"${id}","deleted":${DEEP}}`],
      ['update_item', `{"id":"${id}","dateModified":${DEEP}}`],
      ['update_item', `{"id":"${id}","_expectedDateServerModified":${DEEP}}`],
      ['update_item', `{"id":${DEEP}}`],
      ['delete_item', DEEP],
      ['get_item', DEEP],
      ['create_edge', `{"_source":"${id}","_target":"${id}","_name":"e","title":${DEEP}}`],
      ['get_edges', `{"item":${DEEP}}`],
      ['search', `{"title":${DEEP}}`],
      ['search', `{"deleted":${DEEP}}`],
      ['search', `{"_limit":${DEEP}}`],
      ['bulk', `{"createItems":[{"type":"Note","deleted":${DEEP}}]}`],
      ['bulk', `{"updateItems":[{"id":"${id}","dateModified":${DEEP}}]}`],
      ['bulk', `{"search":[{"title":${DEEP}}]}`],
      ['send_email', `{"to":${DEEP},"subject":"s","body":"b"}`],
      ['plugin_run_logs', DEEP],
    ];
    for (const [endpoint, payload] of payloads) {
      const body = `{"auth":${JSON.stringify(o.auth)},"payload":${payload}}`;
      for (const version of ['v4', 'v3']) {
        const r = await rawPost(`${o.url}/${version}/${o.owner}/${endpoint}`, body, {
          'content-type': 'application/json',
        });
        assert.equal(
          r.status,
          400,
          `${version}/${endpoint} ${payload.slice(0, 60)}…: ${r.status} ${r.text.slice(0, 200)}`,
        );
        assert.ok(r.text.length < 2_000, 'the message describes the value, it does not quote it');
      }
    }
    assert.equal((await o.get(id)).title, 't');
  });

  test('in the auth of a request: 400', async () => {
    const o = new Owner(pod().url);
    for (const auth of [`{"type":"ClientAuth","databaseKey":${DEEP}}`, `{"type":"PluginAuth","data":${DEEP}}`, DEEP]) {
      const r = await rawPost(`${o.url}/v4/${o.owner}/search`, `{"auth":${auth},"payload":{}}`, {
        'content-type': 'application/json',
      });
      assert.equal(r.status, 400, r.text.slice(0, 200));
    }
  });
});
