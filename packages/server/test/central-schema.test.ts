/** Spec 2023 §2.1 and Appendix A: the central schema, its resolution order and the override rule. */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CENTRAL_PROPERTIES, CENTRAL_TYPES, centralEdgesOf, centralPropertiesOf } from '@pod/protocol';
import { declare, Owner, startPod, usePod } from './helpers.js';

/** Appendix A.1, as the spec prints it: all names are Text except those listed under the other four types. */
const APPENDIX_A1 = {
  Bool: 'active, allowSharing, encrypted, importIsActive, isIndexed, isMe, isMock, isSubmitted, outward, skippedByLabeller, starred',
  Integer:
    'bitrate, channels, duration, gitProjectId, height, proximityValue, sequence, templateId, webserverPort, width',
  Real: 'latitude, longitude, myToken, progress, quantity, relevance, score',
  DateTime:
    'birthDate, date, dateCreated, dateExecuted, dateModified, datePublished, dateReceived, dateSent, dateServerModified, deathDate, endTime, filterCreatedAfter, postDate, published, startTime, updated',
  Text: 'abstract, accessToken, accessTokenSecret, action, actionname, addressBookId, authEmail, author, authUrl, avatarUrl, bundleImage, caption, category, city, coarseLabel, code, color, conditiontype, config, configJson, containerId, containerImage, content, currentLabelOption, dataSource, dataType, definition, definitionType, description, deviceAddress, displayName, domain, email, encoding, error, errorMessage, exifData, externalId, fileLocation, filename, filterCreatedAfterPropertyName, fineLabel, firstName, fullText, gender, gitlabUrl, handle, href, icon, id, identifier, indexerClass, itemDescription, itemType, keystr, keyword, label, labelType, labelValue, languageCode, languageName, lastName, link, locationAutoLookupHash, message, mode, name, nonce, ocrText, phoneNumber, pluginDescription, pluginModule, pluginName, pluginRunId, pluginType, postalCode, postType, profileAddress, progressMessage, queryStr, refreshToken, renderer, repository, role, rssFeedId, runDestination, runStatus, secret, seedPhrase, selector, service, sessionName, sexualOrientation, sha256, source, sourceProject, srcLang, state, status, street, subject, summary, summarySource, targetDataType, targetItemId, task, templateName, textContent, tgtLang, thumbnail, title, tokenAddress, topic, transcript, translatedProperty, triggerOn, url, value, version',
};
const COUNTS = { Bool: 11, Integer: 10, Real: 7, DateTime: 16, Text: 119 };

describe('central schema: the map in @pod/protocol', () => {
  test('163 names, each type list exactly as Appendix A.1 prints it', () => {
    assert.equal(CENTRAL_PROPERTIES.size, 163);
    for (const [valueType, list] of Object.entries(APPENDIX_A1)) {
      const expected = list.split(', ').sort();
      const actual = [...CENTRAL_PROPERTIES].filter(([, type]) => type === valueType).map(([name]) => name);
      assert.equal(expected.length, COUNTS[valueType as keyof typeof COUNTS], `the spec's ${valueType} count`);
      assert.deepEqual(actual.sort(), expected, valueType);
    }
    assert.equal(CENTRAL_PROPERTIES.get('value'), 'Text');
    assert.equal(CENTRAL_PROPERTIES.get('webserverPort'), 'Integer');
    assert.equal(CENTRAL_PROPERTIES.get('score'), 'Real');
    assert.equal(CENTRAL_PROPERTIES.get('isMock'), 'Bool');
  });

  test('types (A.2): every property a type names is central; parents exist; edges inherit and override', () => {
    assert.equal(Object.keys(CENTRAL_TYPES).length, 58); // Item and the 57 rows of A.2
    for (const [name, type] of Object.entries(CENTRAL_TYPES)) {
      if (type.extends !== null)
        assert.ok(Object.hasOwn(CENTRAL_TYPES, type.extends), `${name} extends ${type.extends}`);
      for (const property of type.properties) assert.ok(CENTRAL_PROPERTIES.has(property), `${name}.${property}`);
    }
    // EmailMessage → Message → WrittenWork → CreativeWork → Item
    const email = centralPropertiesOf('EmailMessage');
    for (const name of ['starred', 'dateSent', 'isMock', 'title', 'externalId', 'id']) assert.ok(email.has(name), name);
    assert.equal(email.get('dateSent'), 'DateTime');
    const edges = centralEdgesOf('Person');
    assert.deepEqual(edges.get('label'), ['Label'], 'Person.label overrides Item.label');
    assert.deepEqual(edges.get('language'), ['Language'], 'inherited from Item');
    assert.deepEqual(centralEdgesOf('DatasetEntry').get('data'), ['EmailMessage', 'Message'], 'a union of targets');
    assert.deepEqual(centralEdgesOf('Account').get('label'), ['CategoricalPrediction']);
    assert.equal(centralPropertiesOf('NoSuchType').size, 0);
  });
});

describe('central schema: resolution in a Pod (§2.1)', () => {
  const pod = usePod();

  test('a new database holds no ItemPropertySchema items, and takes the standard types undeclared', async () => {
    const o = new Owner(pod().url);
    assert.deepEqual(await o.search({ type: 'ItemPropertySchema' }), []);
    const items = [
      { type: 'Person', firstName: 'Ann', lastName: 'Lee', birthDate: 1_000, starred: true },
      { type: 'Account', handle: 'ann', service: 'whatsapp', isMe: true, externalId: 'x1' },
      { type: 'EmailMessage', subject: 'hi', content: 'body', dateSent: 5, isMock: false },
      { type: 'Message', subject: 'yo', dateReceived: 6, service: 'telegram' },
      { type: 'Photo', caption: 'sea', width: 640, height: 480, channels: 3 },
      { type: 'File', filename: 'a.jpg', sha256: 'ab'.repeat(32) },
      { type: 'PluginRun', containerImage: 'img', status: 'running', progress: 0.5, webserverPort: 8080 },
      { type: 'CategoricalPrediction', value: 'spam', score: 0.9 },
    ];
    for (const item of items) {
      const stored = await o.get(await o.create(item));
      for (const [name, value] of Object.entries(item)) assert.deepEqual(stored[name], value, `${item.type}.${name}`);
    }
    assert.deepEqual(await o.search({ type: 'ItemPropertySchema' }), [], 'using central names declares nothing');
    const [ann] = await o.search({ type: 'Person', firstName: 'Ann' });
    assert.equal(ann.lastName, 'Lee', 'central names are in the equality index');
    // `progress` is Real: an integer is stored as a real
    const run = await o.create({ type: 'PluginRun', progress: 1 });
    assert.match(await o.getText(run), /"progress":1\.0/);
  });

  test('central types are checked: a wrong value type → 400, an undeclared non-central name → 400', async () => {
    const o = new Owner(pod().url);
    await o.fails('create_item', { type: 'Photo', height: 'tall' }, 400);
    await o.fails('create_item', { type: 'Person', birthDate: 'yesterday' }, 400);
    await o.fails('create_item', { type: 'Message', isMock: 'no' }, 400);
    await o.fails('create_item', { type: 'Translation', value: 3 }, 400); // `value` is Text here
    const r = await o.fails('create_item', { type: 'Dog', barks: true }, 400);
    assert.match(r.body.message, /"barks" is not in the schema/);
  });

  test("0.0.8's `value` Integer declaration succeeds in a fresh database; `value` is then Integer", async () => {
    const o = new Owner(pod().url);
    await o.create(declare('value', 'Integer', 'Relationship'));
    const id = await o.create({ type: 'Relationship', value: 3 });
    assert.equal((await o.get(id)).value, 3);
    await o.fails('create_item', { type: 'Translation', value: 'hola' }, 400);
    // explicit now: the 2021 immutability rule applies
    await o.create(declare('value', 'Integer', 'Relationship'));
    const r = await o.fails('create_item', declare('value', 'Text', 'Translation'), 400);
    assert.match(r.body.message, /schema conflict/);
  });

  test('overriding a central name an item holds a value for → 400 conflict, deleted items included', async () => {
    const o = new Owner(pod().url);
    const id = await o.create({ type: 'SuggestedMerge', score: 0.5 });
    await o.ok('delete_item', id);
    const r = await o.fails('create_item', declare('score', 'Integer', 'Plugin'), 400);
    assert.match(
      r.body.message,
      /"score" is Real in the central schema and items \(deleted ones included\) hold values/,
    );
    assert.equal((await o.get(id)).score, 0.5, 'the value is kept');
    await o.fails('create_item', { type: 'SuggestedMerge', score: 'high' }, 400);
    // erased values no longer count
    const other = new Owner(pod().url);
    const held = await other.create({ type: 'Photo', caption: 'x' });
    await other.ok('update_item', { id: held, caption: null });
    await other.create(declare('caption', 'Integer'));
    await other.create({ type: 'Photo', caption: 7 });
  });

  test('declaring a central name with its default type makes it explicit: no later override', async () => {
    const o = new Owner(pod().url);
    await o.create(declare('relevance', 'Real', 'RSSEntry'));
    const r = await o.fails('create_item', declare('relevance', 'Integer', 'RSSEntry'), 400);
    assert.match(r.body.message, /already declared as Real/);
  });

  test('fixed built-ins are never overridable, edgeName/sourceType/targetType included', async () => {
    const o = new Owner(pod().url);
    for (const name of ['itemType', 'containerImage', 'sha256', 'edgeName', 'sourceType', 'targetType', 'id'])
      await o.fails('create_item', declare(name, 'Integer'), 400);
    for (const name of ['edgeName', 'sourceType', 'targetType']) await o.create(declare(name, 'Text'));
  });

  test('an override in a bulk that fails later applies nothing: the default stays in force', async () => {
    const o = new Owner(pod().url);
    await o.fails('bulk', { createItems: [declare('quantity', 'Integer'), { type: 'X', nope: 1 }] }, 400);
    const id = await o.create({ type: 'CryptoTransaction', quantity: 2.5 });
    assert.equal((await o.get(id)).quantity, 2.5);
  });
});

describe('central schema: a database of an older layout migrates', () => {
  test('its declarations stay explicit, the central names and ItemEdgeSchema fields are added', async () => {
    // The fixture of layout 3 (test/fixtures/legacy-files/make.mjs): one owner with one File item.
    const fixtureUrl = new URL('../../test/fixtures/legacy-files/', import.meta.url);
    const fixture = (await import(new URL('make.mjs', fixtureUrl).href)) as { OWNER: string; DATABASE_KEY: string };
    const dataDir = mkdtempSync(join(tmpdir(), 'pod-legacy-'));
    cpSync(new URL('old-pod', fixtureUrl), dataDir, { recursive: true });
    const running = await startPod({ dataDir });
    try {
      const o = new Owner(running.url, fixture.OWNER, fixture.DATABASE_KEY);
      const [file] = await o.search({ type: 'File' });
      assert.match(file.sha256, /^[0-9a-f]{64}$/, 'the old item reads as before');
      assert.deepEqual(await o.search({ type: 'ItemPropertySchema' }), []);
      await o.create({ type: 'Person', firstName: 'Ann', isMe: true });
      await o.create({ type: 'ItemEdgeSchema', edgeName: 'owner', sourceType: 'Account', targetType: 'Person' });
      await o.fails('create_item', declare('sha256', 'Integer'), 400); // declared before: still fixed
      await o.create(declare('value', 'Integer')); // a central default: still overridable
    } finally {
      await running.close();
    }
  });
});
