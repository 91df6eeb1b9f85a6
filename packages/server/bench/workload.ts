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
