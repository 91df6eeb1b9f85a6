/**
 * The schema side of sync: the application's classes are declared to the Pod before any other
 * request whenever their hash differs from the one the store remembers (first install, upgrade),
 * and every schema item seen (pulled, or fetched) extends the known declarations.
 */
import type { ValueType } from '@pod/protocol';
import { sha256Hex } from '../files.js';
import type { ItemClass } from '../items.js';
import { schemaDeclarations } from '../types.js';
import type { Replica } from './replica.js';

export class SchemaSync {
  /** Property name → value type. */
  readonly declared = new Map<string, ValueType>();
  private sent?: Promise<void>;

  constructor(
    private readonly replica: Replica,
    private readonly classes: readonly ItemClass[],
  ) {
    for (const cls of classes)
      for (const [name, valueType] of Object.entries(cls.properties)) this.declared.set(name, valueType);
  }

  /** Declares the classes to the Pod if they changed since the store last did; once per engine unless it fails. */
  ensure(): Promise<void> {
    this.sent ??= this.send().catch((error: unknown) => {
      this.sent = undefined;
      throw error;
    });
    return this.sent;
  }

  private async send(): Promise<void> {
    if (this.classes.length === 0) return;
    const declarations = this.classes
      .flatMap((cls) => Object.entries(cls.properties).map(([name, type]) => `${cls.itemType}.${name}:${type}`))
      .sort();
    const hash = await sha256Hex(new TextEncoder().encode(declarations.join('\n')));
    const { client, store } = this.replica;
    if (hash === (await store.schemaHash())) return;
    // Declared only: which class this client reads a type into is the client's own business.
    await client.call('bulk', { createItems: schemaDeclarations(this.classes) });
    await this.replica.exclusive(() => store.write({ schemaHash: hash }));
  }

  /** The Pod's whole schema, into `declared` only (nothing stored). */
  async fetch(): Promise<void> {
    this.learn(await this.replica.client.call('search', { type: 'ItemPropertySchema' }));
  }

  /** Takes declarations from schema items; tells of new ones. */
  learn(items: readonly { type: string; [field: string]: unknown }[]): void {
    const declared: [string, ValueType][] = [];
    for (const item of items) {
      const { type, propertyName: name, valueType } = item;
      if (type !== 'ItemPropertySchema' || typeof name !== 'string' || typeof valueType !== 'string') continue;
      if (this.declared.get(name) === valueType) continue;
      this.declared.set(name, valueType as ValueType);
      declared.push([name, valueType as ValueType]);
    }
    if (declared.length > 0) this.replica.emit('schema', { declared });
  }
}
