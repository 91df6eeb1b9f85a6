/** The benches' workload, one definition for `npm run bench` and the scale bench: Notes of 5 properties. */
import { randomBytes } from 'node:crypto';

/** The Note type's declarations. */
export const schema = [
  ['title', 'Text'],
  ['tag', 'Text'],
  ['count', 'Integer'],
  ['score', 'Real'],
  ['done', 'Bool'],
].map(([propertyName, valueType]) => ({ type: 'ItemPropertySchema', itemType: 'Note', propertyName, valueType }));

/** Items with 5 properties: 2 Text (one with ~10,000 distinct values), Integer, Real, Bool. */
export const makeItem = (i: number) => ({
  type: 'Note',
  title: `note number ${i} ${randomBytes(6).toString('hex')}`,
  tag: `tag-${i % 10_000}`,
  count: i,
  score: i / 7,
  done: i % 2 === 0,
});

export const BULK_SIZE = 1_000;
/** Items per bulk that get a client id and an edge to the next one (the scale bench's `[[edges]]` probe's sources). */
export const EDGES_PER_BATCH = 10;

/** One bulk of the scale bench: BULK_SIZE items, the first EDGES_PER_BATCH with ids of their own, chained by edges. */
export function makeBulk(first: number) {
  const createItems: Record<string, unknown>[] = [];
  for (let i = first; i < first + BULK_SIZE; i++)
    createItems.push(i - first < EDGES_PER_BATCH ? { id: `linked-${i}`, ...makeItem(i) } : makeItem(i));
  const createEdges = Array.from({ length: EDGES_PER_BATCH - 1 }, (_, k) => ({
    _source: `linked-${first + k}`,
    _target: `linked-${first + k + 1}`,
    _name: 'next',
  }));
  return { createItems, createEdges };
}
