/**
 * Item types that plugins and the tutorial share. Property names keep one value type across all
 * types (the Pod's schema is one map from name to type), and match the Pod's built-in declarations.
 */
import type { V5Payload } from '@pod/protocol';
import { defineItem, type ItemClass, type PropertyTypes } from './items.js';

/** A person; importers create one per Account, linked by the Account's `owner` edge. */
export class Person extends defineItem('Person', {
  firstName: 'Text',
  lastName: 'Text',
  displayName: 'Text',
  email: 'Text',
  phoneNumber: 'Text',
  birthDate: 'DateTime',
  externalId: 'Text',
}) {}

/** An account with a service; credentials live here, and `errorMessage` says why a log-in failed. */
export class Account extends defineItem(
  'Account',
  {
    identifier: 'Text',
    service: 'Text',
    handle: 'Text',
    displayName: 'Text',
    avatarUrl: 'Text',
    externalId: 'Text',
    isMe: 'Bool',
    password: 'Text',
    accessToken: 'Text',
    refreshToken: 'Text',
    errorMessage: 'Text',
  },
  { owner: () => Person },
) {}

/** A file the Pod stores, named by the SHA-256 of its bytes. */
export class File extends defineItem('File', {
  sha256: 'Text',
  filename: 'Text',
  mimeType: 'Text',
  size: 'Integer',
  width: 'Integer',
  height: 'Integer',
}) {}

/** A photo: its bytes are in the File(s) its `file` edges point to. */
export class Photo extends defineItem('Photo', { width: 'Integer', height: 'Integer' }, { file: () => File }) {}

export class EmailMessage extends defineItem(
  'EmailMessage',
  { subject: 'Text', content: 'Text', dateSent: 'DateTime', dateReceived: 'DateTime', externalId: 'Text' },
  { sender: () => Person, receiver: () => Person, attachment: () => File },
) {}

/** A chat message, sent from and to accounts of a service. */
export class Message extends defineItem(
  'Message',
  {
    subject: 'Text',
    content: 'Text',
    dateSent: 'DateTime',
    dateReceived: 'DateTime',
    externalId: 'Text',
    service: 'Text',
  },
  { sender: () => Account, receiver: () => Account, attachment: () => File },
) {}

/** An installed plugin; its `account` edge leads to the credentials it uses. */
export class Plugin extends defineItem(
  'Plugin',
  { name: 'Text', description: 'Text', containerImage: 'Text' },
  { account: () => Account },
) {}

/**
 * One run of a plugin: creating it starts the plugin. `status` and `progress` belong to the
 * plugin; `podLaunchStatus`/`podLaunchMessage` are what the Pod knows of the launch.
 */
export class PluginRun extends defineItem(
  'PluginRun',
  {
    containerImage: 'Text',
    targetItemId: 'Text',
    status: 'Text',
    progress: 'Real',
    error: 'Text',
    podLaunchStatus: 'Text',
    podLaunchMessage: 'Text',
  },
  { plugin: () => Plugin },
) {}

export class Label extends defineItem('Label', { name: 'Text', color: 'Text' }) {}

/** The item every edge is (type `Edge` unless created with `_self`). */
export class Edge extends defineItem('Edge', {}) {}

/** A schema declaration: what `PodClient.addToSchema` creates, one per property. */
export class ItemPropertySchema extends defineItem('ItemPropertySchema', {
  itemType: 'Text',
  propertyName: 'Text',
  valueType: 'Text',
}) {}

/**
 * Every type above: each `PodClient` reads items back into them (its `classes` option adds to or
 * replaces them); pass them to `addToSchema` to declare them all.
 */
export const builtinItemClasses = [
  Person,
  Account,
  File,
  Photo,
  EmailMessage,
  Message,
  Plugin,
  PluginRun,
  Label,
  Edge,
  ItemPropertySchema,
] as const;

/**
 * The schema items declaring every property of these classes: exactly these four fields, no id,
 * the form a plugin's credential may declare with (see `addToSchema`).
 */
export function schemaDeclarations(classes: Iterable<ItemClass>) {
  return [...classes].flatMap((cls) =>
    Object.entries(cls.properties).map(([propertyName, valueType]) => ({
      type: ItemPropertySchema.itemType,
      itemType: cls.itemType,
      propertyName,
      valueType,
    })),
  );
}

/** Who declares a schema through `declareSchema`: a name of letters and digits, a URL, a version. */
export type SchemaMeta = V5Payload<'schema'>['meta'];

/** The `/v5` schema payload declaring these classes: each one's properties, and each edge to its target's type. */
export function schemaPayload(meta: SchemaMeta, classes: Iterable<ItemClass>): V5Payload<'schema'> {
  const nodes = new Map<string, { properties: PropertyTypes }>();
  const edges = new Map<string, { source: string; target: string }[]>();
  for (const cls of classes) {
    nodes.set(cls.itemType, { properties: cls.properties });
    for (const [name, target] of Object.entries(cls.edges))
      edges.set(name, [...(edges.get(name) ?? []), { source: cls.itemType, target: target().itemType }]);
  }
  return { nodes: Object.fromEntries(nodes), edges: Object.fromEntries(edges), meta };
}
