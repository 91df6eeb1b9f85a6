/**
 * Least privilege for plugins: a run's grant says which item types and properties it may read and
 * write (declared on its Plugin item, property `permissions`), plus the items every run needs —
 * its own PluginRun, its target, its Plugin and that Plugin's Accounts. Requests are checked
 * before anything runs (403, nothing written); reads are filtered through the grant's view.
 */
import { z } from 'zod';
import type { Endpoint } from '@pod/protocol';
import { PodError } from '../errors.js';
import { isBaseField } from '../storage/schema.js';
import type { OwnerStore, ReadView } from '../storage/store.js';

const Access = z.record(z.string(), z.union([z.literal('*'), z.array(z.string())]));
/** The JSON held in a Plugin item's `permissions` property. */
export const Permissions = z.object({
  read: Access.default({}),
  write: Access.default({}),
  email: z.boolean().default(false),
});
export type Permissions = z.infer<typeof Permissions>;

export interface OwnItems {
  runId: string;
  targetId?: string;
  pluginId?: string;
  accountIds: string[];
}

const forbidden = (message: string) => new PodError(403, `plugin permission: ${message}`);

export class Grant implements ReadView {
  private readonly readWrite: Set<string>;
  private readonly readOnly: Set<string>;

  constructor(
    readonly own: OwnItems,
    private readonly permissions: Permissions,
  ) {
    this.readWrite = new Set([own.runId, ...own.accountIds]);
    this.readOnly = new Set([own.targetId, own.pluginId].filter((id): id is string => Boolean(id)));
  }

  /** Writing a type implies reading it; schema items are readable by every plugin. */
  visible(item: { id: string; type: string }): 'all' | ReadonlySet<string> | null {
    if (this.readWrite.has(item.id) || this.readOnly.has(item.id) || item.type === 'ItemPropertySchema') return 'all';
    const read = this.permissions.read[item.type];
    const write = this.permissions.write[item.type];
    if (read === '*' || write === '*') return 'all';
    if (!read && !write) return null;
    return new Set([...(read ?? []), ...(write ?? [])]);
  }

  private checkRead(type: string) {
    if (this.visible({ id: '', type }) === null) throw forbidden(`this plugin did not declare that it reads items of type "${type}"`);
  }

  private checkWrite(type: string, id: string | undefined, fields: Record<string, unknown>) {
    if (id !== undefined && this.readWrite.has(id)) return;
    if (type === 'ItemPropertySchema' && id === undefined) return; // a plugin declares its schema first
    const write = this.permissions.write[type];
    if (!write) throw forbidden(`this plugin did not declare that it writes items of type "${type}"`);
    if (write === '*') return;
    for (const name of Object.keys(fields))
      if (!isBaseField(name) && !name.startsWith('_') && !write.includes(name))
        throw forbidden(`this plugin did not declare that it writes property "${name}" of "${type}"`);
  }

  /** Throws 403 unless every part of the request is within the grant. */
  authorize(endpoint: Endpoint | 'changes' | 'upload', payload: unknown, store: OwnerStore): void {
    const typeOf = (id: unknown) => (typeof id === 'string' ? store.typeOf(id) : undefined);
    const fields = payload as Record<string, unknown>;
    const create = (item: Record<string, unknown>) => this.checkWrite(String(item.type), undefined, item);
    const update = (patch: Record<string, unknown>) => {
      const type = typeOf(patch.id);
      if (type !== undefined) this.checkWrite(type, String(patch.id), patch);
    };
    const remove = (id: unknown) => {
      const type = typeOf(id);
      if (type !== undefined) this.checkWrite(type, String(id), {});
    };
    const edge = (item: Record<string, unknown>) => {
      const source = typeOf(item._source);
      const target = typeOf(item._target);
      if (source !== undefined) this.checkWrite(source, String(item._source), {});
      if (target !== undefined) this.checkRead(target);
      const { _source, _target, _name, _self, ...properties } = item;
      if (Object.keys(properties).length > 0) this.checkWrite('Edge', undefined, properties);
    };
    // A search by id is filtered by the view like get_item; by type alone, an undeclared type is 403.
    const search = (query: Record<string, unknown>) => {
      if (typeof query.type === 'string' && typeof query.id !== 'string') this.checkRead(query.type);
    };
    switch (endpoint) {
      case 'get_item':
      case 'get_edges':
        return; // the store renders through the view and refuses a hidden item
      case 'search':
        return search(fields);
      case 'create_item':
        return create(fields);
      case 'update_item':
        return update(fields);
      case 'delete_item':
        return remove(payload);
      case 'create_edge':
        return edge(fields);
      case 'bulk': {
        const bulk = fields as Record<string, Record<string, unknown>[] | undefined>;
        bulk.createItems?.forEach(create);
        bulk.updateItems?.forEach(update);
        (bulk.deleteItems as unknown[] | undefined)?.forEach(remove);
        bulk.createEdges?.forEach(edge);
        bulk.search?.forEach(search);
        return;
      }
      case 'get_file':
        return this.checkRead('File');
      case 'upload':
        return this.checkWrite('File', undefined, {});
      case 'send_email':
        if (!this.permissions.email) throw forbidden('this plugin did not declare that it sends email ("email": true)');
        return;
      case 'changes':
        throw forbidden('the change feed is for clients; plugins search');
      case 'abort_plugin_run':
      case 'plugin_run_logs':
        if (payload !== this.own.runId) throw forbidden('a plugin may stop or read the logs of its own run only');
        return;
    }
  }
}
