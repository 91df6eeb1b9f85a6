/**
 * The sync benches' data: Notes of five properties, one of each value type but DateTime, seeded
 * into a new owner. Browser-safe: the browser page of the IndexedDB bench reads the same class.
 */
import { PodClient, defineItem } from '@pod/client';

export class Note extends defineItem('Note', {
  title: 'Text',
  tag: 'Text',
  count: 'Integer',
  score: 'Real',
  done: 'Bool',
}) {}

export interface OwnerKeys {
  url: string;
  ownerKey: string;
  databaseKey: string;
}

/** A new owner on the Pod at `url` holding `items` Notes, created 1,000 per bulk call; its keys. */
export async function seedNotes(url: string, items: number): Promise<OwnerKeys> {
  const seeder = new PodClient({ url });
  await seeder.addToSchema(Note);
  for (let start = 0; start < items; start += 1_000) {
    const createItems = Array.from({ length: Math.min(1_000, items - start) }, (_, i) => ({
      type: 'Note',
      title: `note number ${start + i}`,
      tag: `tag-${(start + i) % 1_000}`,
      count: start + i,
      score: (start + i) / 7,
      done: i % 2 === 0,
    }));
    await seeder.call('bulk', { createItems });
  }
  return { url, ownerKey: seeder.ownerKey, databaseKey: seeder.databaseKey! };
}
