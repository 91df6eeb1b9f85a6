/** Data the browser tests and the bench make through the API. */
import type { PodClient } from '@pod/client';

/** `count` items of type Row with `n` = 0, 1, 2, … in the Pod's order, created in bulks. */
export async function seedRows(client: PodClient, count: number): Promise<void> {
  await client.call('create_item', {
    type: 'ItemPropertySchema',
    itemType: 'Row',
    propertyName: 'n',
    valueType: 'Integer',
  });
  await client.call('create_item', {
    type: 'ItemPropertySchema',
    itemType: 'Row',
    propertyName: 'label',
    valueType: 'Text',
  });
  for (let start = 0; start < count; start += 10_000) {
    const createItems = Array.from({ length: Math.min(10_000, count - start) }, (_, i) => ({
      type: 'Row',
      n: start + i,
      label: `row ${start + i}`,
    }));
    await client.call('bulk', { createItems });
  }
}
