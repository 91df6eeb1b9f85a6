/**
 * Least privilege for plugins: a run's grant says which item types and properties it may read and
 * write, down to whose items and which values (the `permissions` of its Plugin item, format in
 * @pod/protocol), plus the items every run needs — its own PluginRun, its target, its Plugin and
 * that Plugin's Accounts. The store asks the grant right before it applies each change (the
 * `Principal` hooks); reads go through the grant's view. A run started by another run's
 * credential holds the rules of both (each must allow), so it never exceeds its creator.
 */
import {
  SEARCH_KEYS,
  searchFilter,
  type Endpoint,
  type ParsedPermissions,
  type TypeRule,
  type V5Endpoint,
  type ValueType,
} from '@pod/protocol';
import { PodError, notFound } from '../errors.js';
import { isBaseField } from '../storage/schema.js';
import { filteredNames, parseQuery, type GraphqlQuery } from '../storage/graphql/query.js';
import type { OwnerStore, Principal, StoredItem } from '../storage/store.js';

export interface OwnItems {
  runId: string;
  /** Whose items count as its own (items.creator): its Plugin's id, or its run's (see grantOf). */
  creator: string;
  targetId?: string;
  pluginId?: string;
  accountIds: string[];
  /** Types of the items it may write as its own (its run's, its Accounts'): it may declare their properties. */
  ownTypes: string[];
}

type Fields = Record<string, unknown>;

/** Properties named `pod…` are the Pod's record (podLaunchStatus, podExitCode, …): no plugin writes them. */
const isPodProperty = (name: string) => /^pod[A-Z0-9_]/.test(name);
const RUN_TYPES = new Set(['PluginRun', 'StartPlugin']);
/** What a run starts and on what: set when it is created, never changed by a plugin. */
const RUN_LAUNCH_FIELDS = new Set(['containerImage', 'container', 'targetItemId']);
const SCHEMA_FIELDS = ['type', 'itemType', 'propertyName', 'valueType'];
const EDGE_SCHEMA_FIELDS = ['type', 'edgeName', 'sourceType', 'targetType'];
/** Schema items: every plugin reads the owner's and its own. */
const SCHEMA_TYPES: ReadonlySet<string> = new Set(['ItemPropertySchema', 'ItemEdgeSchema']);

const forbidden = (message: string) => new PodError('forbidden', `plugin permission: ${message}`);
const q = (text: string) => JSON.stringify(text);
const isProperty = (name: string) => !isBaseField(name) && !name.startsWith('_');
const allows = (properties: TypeRule['properties'], name: string) => properties === '*' || properties.has(name);

function propsOf(item: StoredItem): Fields {
  return JSON.parse(item.props) as Fields;
}
/** Names both allow ('all' allows every name). */
const intersect = (a: 'all' | ReadonlySet<string>, b: 'all' | ReadonlySet<string>): 'all' | ReadonlySet<string> =>
  a === 'all' ? b : b === 'all' ? a : new Set([...a].filter((name) => b.has(name)));
const matches = (where: TypeRule['where'], values: Fields) =>
  [...where].every(([name, value]) => Object.hasOwn(values, name) && values[name] === value);

export class Grant implements Principal {
  readonly creator: string;
  readonly run: string;
  private readonly readWrite: Set<string>;
  private readonly readOnly: Set<string>;
  private readonly ownTypes: Set<string>;

  /**
   * `rules`: every set must allow what the run does (its Plugin's, then its creators' up the chain).
   * `declared`: a property's declared value type, for redeclarations that change nothing (a central
   * default is not declared: confirming one pins it, a change the grant must allow).
   */
  constructor(
    readonly own: OwnItems,
    readonly rules: readonly ParsedPermissions[],
    private readonly declared: (name: string) => ValueType | undefined,
  ) {
    if (rules.length === 0) throw new Error('a grant needs at least one set of rules');
    this.run = own.runId;
    this.creator = own.creator;
    this.readWrite = new Set([own.runId, ...own.accountIds]);
    this.readOnly = new Set([own.targetId, own.pluginId].filter((id): id is string => Boolean(id)));
    this.ownTypes = new Set(own.ownTypes);
  }

  /** Whether a rule covers this stored item: its items (own or all) and its `where` values. */
  private covers(rule: TypeRule | undefined, item: StoredItem, values: () => Fields): rule is TypeRule {
    return (
      rule !== undefined &&
      (rule.items === 'all' || item.creator === this.creator) &&
      (rule.where.size === 0 || matches(rule.where, values()))
    );
  }

  /** Writing (a rule of) a type implies reading what that rule covers; schema items show their owner's and its own declarations. */
  visible(item: StoredItem): 'all' | ReadonlySet<string> | null {
    if (this.readWrite.has(item.id) || this.readOnly.has(item.id)) return 'all';
    if (SCHEMA_TYPES.has(item.type)) return item.creator === null || item.creator === this.creator ? 'all' : null;
    let parsed: Fields | undefined;
    const values = () => (parsed ??= propsOf(item));
    let result = 'all' as 'all' | Set<string>;
    for (const set of this.rules) {
      const seen = [set.read.get(item.type), set.write.get(item.type)].filter((rule) =>
        this.covers(rule, item, values),
      );
      if (seen.length === 0) return null;
      if (seen.some((rule) => rule.properties === '*')) continue;
      const names = new Set(seen.flatMap((rule) => [...(rule.properties as ReadonlySet<string>)]));
      result = result === 'all' ? names : new Set([...result].filter((name) => names.has(name)));
    }
    return result;
  }

  /** Whether every set reads or writes the type at all (search by type); the schema is readable to all. */
  private readsType(type: string): boolean {
    return SCHEMA_TYPES.has(type) || this.rules.every((set) => set.read.has(type) || set.write.has(type));
  }

  /**
   * The properties every set lets it read on items of `type` (schema items it sees, it sees whole);
   * a rule's `where` property counts: every item the rule shows holds the same value.
   */
  private readableProperties(type: string): 'all' | ReadonlySet<string> {
    if (SCHEMA_TYPES.has(type)) return 'all';
    let result: 'all' | ReadonlySet<string> = 'all';
    for (const set of this.rules) {
      const rules = [set.read.get(type), set.write.get(type)].filter((rule) => rule !== undefined);
      if (rules.some((rule) => rule.properties === '*')) continue;
      const names = new Set(
        rules.flatMap((rule) => [...(rule.properties as ReadonlySet<string>), ...rule.where.keys()]),
      );
      result = intersect(result, names);
    }
    return result;
  }

  private readsProperty(type: string, name: string): boolean {
    const readable = this.readableProperties(type);
    return readable === 'all' || readable.has(name);
  }

  /** Every type some set reads or writes. */
  private namedTypes(): string[] {
    return [...new Set(this.rules.flatMap((set) => [...set.read.keys(), ...set.write.keys()]))];
  }

  /**
   * What its `_text` may match: the properties it reads in `type`, or without one those it reads in
   * every type it reads (as for filters: rows of other types are hidden anyway).
   */
  textScope(type: string | undefined): 'all' | ReadonlySet<string> {
    const types = type === undefined ? this.namedTypes() : [type];
    return types.reduce<'all' | ReadonlySet<string>>((scope, t) => intersect(scope, this.readableProperties(t)), 'all');
  }

  private checkReadType(type: string) {
    if (!this.readsType(type)) throw forbidden(`this plugin did not declare that it reads items of type ${q(type)}`);
  }

  /**
   * A filter reveals the values it matches: only properties the plugin reads. Without `type`, a
   * property must be readable in every type the plugin reads (rows of other types are hidden anyway).
   */
  checkSearch(query: Fields) {
    const { type, id } = query;
    if (typeof id === 'string' && (this.readWrite.has(id) || this.readOnly.has(id))) return;
    if (typeof type === 'string' && typeof id !== 'string') this.checkReadType(type);
    const textScope =
      typeof query._text === 'string' ? this.textScope(typeof type === 'string' ? type : undefined) : 'all';
    if (textScope !== 'all' && textScope.size === 0)
      throw forbidden(
        typeof type === 'string'
          ? `this plugin reads no property of ${q(type)}, so it cannot search their text`
          : 'this plugin reads no property in every type it reads, so "_text" needs a "type" to search its text',
      );
    this.checkFilters(
      typeof type === 'string' ? type : undefined,
      Object.keys(query)
        .filter((key) => !SEARCH_KEYS.has(key))
        .map((key) => searchFilter(key).name),
    );
  }

  /**
   * GraphQL (spec §4) reads like search, at every level: a root's type must be one it reads, and a
   * filter or an ordering only on properties it reads (an edge's other ends may be of any type).
   */
  checkGraphql(query: GraphqlQuery) {
    for (const { type, names } of filteredNames(query)) {
      if (type !== undefined) this.checkReadType(type);
      this.checkFilters(type, names);
    }
  }

  /** Filtering or ordering on a property reveals its values: only on those it reads in `type` (or in every type). */
  private checkFilters(type: string | undefined, names: string[]) {
    for (const name of names.filter(isProperty)) {
      const types = type !== undefined ? [type] : this.namedTypes();
      const hidden = types.find((t) => !this.readsProperty(t, name));
      if (hidden !== undefined)
        throw forbidden(
          `this plugin cannot read property ${q(name)} of ${q(hidden)}, so it cannot search on it` +
            (type !== undefined ? '' : ' (name a "type" to search on properties of that type only)'),
        );
    }
  }

  /** The write rule of `type` in every set, or 403. */
  private writeRules(type: string): TypeRule[] {
    return this.rules.map((set) => {
      const rule = set.write.get(type);
      if (!rule) throw forbidden(`this plugin did not declare that it writes items of type ${q(type)}`);
      return rule;
    });
  }

  private checkProperties(type: string, rules: TypeRule[], fields: Fields) {
    for (const name of Object.keys(fields)) {
      if (!isProperty(name)) continue;
      if (isPodProperty(name)) throw forbidden(`property ${q(name)} is the Pod's own record; plugins do not write it`);
      if (!rules.every((rule) => allows(rule.properties, name)))
        throw forbidden(`this plugin did not declare that it writes property ${q(name)} of ${q(type)}`);
    }
  }

  /** A changed value must keep the item within every `where` it was written under. */
  private checkWhere(type: string, rules: TypeRule[], values: Fields) {
    for (const rule of rules)
      for (const [name, value] of rule.where)
        if (Object.hasOwn(values, name) && values[name] !== value)
          throw forbidden(`this plugin may write only ${q(type)} items whose ${q(name)} is ${JSON.stringify(value)}`);
  }

  checkCreate(type: string, fields: Fields): void {
    if (type === 'ItemPropertySchema') {
      this.checkDeclaration(fields);
      return;
    }
    if (type === 'ItemEdgeSchema') {
      this.checkEdgeDeclaration(fields);
      return;
    }
    const rules = this.writeRules(type);
    this.checkProperties(type, rules, fields);
    for (const rule of rules)
      for (const [name, value] of rule.where)
        if (!Object.hasOwn(fields, name) || fields[name] !== value)
          throw forbidden(`this plugin may create only ${q(type)} items whose ${q(name)} is ${JSON.stringify(value)}`);
  }

  checkUpdate(item: StoredItem, patch: Fields): void {
    for (const name of Object.keys(patch)) {
      if (isPodProperty(name)) throw forbidden(`property ${q(name)} is the Pod's own record; plugins do not write it`);
      if (RUN_TYPES.has(item.type) && RUN_LAUNCH_FIELDS.has(name))
        throw forbidden(`a run's ${q(name)} is set when it is created and not changed after`);
    }
    if (this.readWrite.has(item.id)) return;
    const rules = this.changeRules(item);
    this.checkProperties(item.type, rules, patch);
    this.checkWhere(item.type, rules, patch);
  }

  checkDelete(item: StoredItem): void {
    if (!this.readWrite.has(item.id)) this.changeRules(item);
  }

  /** An edge writes its source (and its `_self`, when given) and needs only to see its target. */
  checkEdge(source: StoredItem, _target: StoredItem, self: StoredItem | undefined, properties: Fields): void {
    this.checkUpdate(source, {});
    if (self) this.checkUpdate(self, {});
    if (Object.keys(properties).length > 0) this.checkCreate('Edge', properties);
  }

  /** Changing or deleting a stored item: a write rule of its type that covers it (whose items, which values). */
  private changeRules(item: StoredItem): TypeRule[] {
    const rules = this.writeRules(item.type);
    let parsed: Fields | undefined;
    const values = () => (parsed ??= propsOf(item));
    for (const rule of rules) {
      if (rule.items !== 'all' && item.creator !== this.creator)
        throw forbidden(
          `this plugin may change only the ${q(item.type)} items it created (declare "items": "all" to change others)`,
        );
      if (rule.where.size > 0 && !matches(rule.where, values()))
        throw forbidden(
          `this plugin may change only ${q(item.type)} items whose ${[...rule.where.keys()].map(q).join(', ')} match its declaration`,
        );
    }
    return rules;
  }

  /**
   * From a plugin, a declaration carries exactly type, itemType, propertyName and valueType, and
   * declares a property it may write; one that repeats the schema as it is changes nothing and passes.
   */
  private checkDeclaration(fields: Fields) {
    const extra = Object.keys(fields).filter((name) => !SCHEMA_FIELDS.includes(name));
    if (extra.length > 0)
      throw forbidden(
        `an ItemPropertySchema item from a plugin carries exactly ${SCHEMA_FIELDS.join(', ')} (no id, nothing else); remove ${extra.map(q).join(', ')}`,
      );
    const { itemType, propertyName, valueType } = fields;
    if (typeof itemType !== 'string' || typeof propertyName !== 'string') return; // the schema says what is wrong (400)
    if (this.declared(propertyName) === valueType) return;
    if (isPodProperty(propertyName))
      throw forbidden(`property ${q(propertyName)} is the Pod's own record; plugins do not declare it`);
    if (this.ownTypes.has(itemType)) return;
    const rules = this.rules.map((set) => set.write.get(itemType));
    if (!rules.every((rule) => rule !== undefined && allows(rule.properties, propertyName)))
      throw forbidden(
        `this plugin may declare only properties it writes; it did not declare that it writes ${q(propertyName)} of ${q(itemType)}`,
      );
  }

  /** OAuth through the Pod: only for a platform every set of rules names in its `oauth`. */
  checkOAuth(platform: string) {
    if (!this.rules.every((set) => set.oauth.has(platform)))
      throw forbidden(`this plugin did not declare that it uses OAuth of ${q(platform)} ("oauth": [${q(platform)}])`);
  }

  /**
   * From a plugin, an edge declaration (an ItemEdgeSchema item, or an entry of `/v5` `edges`) carries
   * exactly type, edgeName, sourceType and targetType, and declares an edge of a type it writes, as
   * an edge it creates writes its source.
   */
  private checkEdgeDeclaration(fields: Fields) {
    const extra = Object.keys(fields).filter((name) => !EDGE_SCHEMA_FIELDS.includes(name));
    if (extra.length > 0)
      throw forbidden(
        `an ItemEdgeSchema item from a plugin carries exactly ${EDGE_SCHEMA_FIELDS.join(', ')} (no id, nothing else); remove ${extra.map(q).join(', ')}`,
      );
    const { sourceType } = fields;
    if (typeof sourceType !== 'string' || this.ownTypes.has(sourceType)) return; // the store says what is wrong (400)
    if (!this.rules.every((set) => set.write.has(sourceType)))
      throw forbidden(
        `this plugin may declare only edges of types it writes; it did not declare that it writes ${q(sourceType)}`,
      );
  }

  /** Throws 403 unless the request is within the grant, for what the store does not check as it applies. */
  authorize(endpoint: Endpoint | V5Endpoint | 'changes' | 'upload', payload: unknown, store: OwnerStore): void {
    switch (endpoint) {
      case 'search':
        this.checkSearch(payload as Fields);
        return;
      case 'graphql':
        this.checkGraphql(parseQuery(payload as string, (name) => store.schema.get(name)));
        return;
      case 'bulk':
        for (const query of (payload as { search?: Fields[] }).search ?? []) this.checkSearch(query);
        return;
      case 'get_file':
      case 'thumbnail': {
        // A blob (and so its thumbnails) is as visible as a File item announcing it (`where` and `items` rules included).
        const sha256 = (payload as { sha256: string }).sha256.toLowerCase();
        this.checkReadType('File');
        if (!store.anyVisible({ type: 'File', sha256 }, this))
          throw notFound(`no file with sha256 ${sha256} is stored`);
        return;
      }
      case 'upload':
        return void this.writeRules('File');
      case 'send_email':
        if (!this.rules.every((set) => set.email))
          throw forbidden('this plugin did not declare that it sends email ("email": true)');
        return;
      case 'changes':
        throw forbidden('the change feed is for clients; plugins search');
      case 'plugin_images':
        throw forbidden('what the Pod can launch is for its owner; plugins do not list it');
      case 'export':
        throw forbidden("the whole Pod's archive is for its owner; plugins read through their grant");
      case 'summary':
        throw forbidden('the overview of the whole Pod is for its owner; plugins read through their grant');
      case 'change_database_key':
      case 'delete_owner':
        throw forbidden(
          "the database key and the Pod itself are the owner's alone; a plugin cannot change or delete them",
        );
      case 'oauth':
      case 'oauth1_request_token':
        return void this.checkOAuth((payload as { service: string }).service);
      case 'oauth2/auth_url':
      case 'oauth2/authorize':
      case 'oauth2/access_token':
        return void this.checkOAuth((payload as { platform: string }).platform);
      case 'oauth1_access_token':
        return; // its platform is the one its token was issued for: the broker asks checkOAuth once it knows
      case 'abort_plugin_run':
      case 'plugin_run_logs':
        if (payload !== this.own.runId) throw forbidden('a plugin may stop or read the logs of its own run only');
        return;
      case 'delete_edge_by_source_target':
      case 'delete_file':
        return; // the store asks checkDelete of each edge or File item it deletes (and checkUpdate of an edge's source)
      case 'plugin/status':
        if ((payload as { plugins: string[] }).plugins.some((id) => id !== this.own.runId))
          throw forbidden('a plugin may ask the status of its own run only');
        return;
      case 'plugin/api':
      case 'plugin/api/call':
        if ((payload as { id: string }).id !== this.own.runId)
          throw forbidden("a plugin may reach its own run's web server only, never another plugin's");
        return;
      case 'trigger/status':
        return; // checked against the Trigger item (trigger-status.ts)
      default:
        return; // items, edges and searches are checked by the store as it applies them, through this grant
    }
  }
}
