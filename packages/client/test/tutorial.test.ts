/** The tutorial example and the overhead bench run against a real Pod. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Account, Person } from '@pod/client';
import { benchClientOverhead } from '../bench/client-overhead.js';
import { Dog, tutorial } from '../examples/tutorial.js';
import { startPod, type TestPod } from './pod.js';

let pod: TestPod;
before(async () => {
  pod = await startPod();
});
after(() => pod.close());

describe('the tutorial', () => {
  it('runs from hello world to photos', async () => {
    const lines: string[] = [];
    const result = await tutorial(pod.url, (line) => lines.push(line));
    assert.ok(result.dogFromDb instanceof Dog);
    assert.equal(lines[0], `Dog (#${result.dogFromDb.id})`);
    assert.ok(result.sender instanceof Person);
    assert.equal(result.sender.firstName, 'Alice');
    assert.equal(result.bobs.length, 1);
    assert.deepEqual(result.runs, [2, 1], 'the second run imports only the new account');
    const accounts = await result.client.search(Account, { service: 'demo' }, { edges: true });
    assert.deepEqual(accounts.map((account) => account.owner[0]?.firstName).sort(), ['Ann', 'Ben', 'Cat']);
    assert.equal(result.fileText, 'a video, say');
    assert.deepEqual([result.fetched.photo.width, result.fetched.photo.height], [640, 640]);
    assert.ok(result.fetched.data.length > 640 * 640);
    assert.equal(lines.length, 6);
  });
});

describe('the client overhead bench', () => {
  it('measures both sides', async () => {
    const { library, raw } = await benchClientOverhead(pod.url);
    assert.ok(library > 0 && raw > 0, JSON.stringify({ library, raw }));
  });
});
