/**
 * `@pod/client`: the Pod v4 API for TypeScript, on `fetch`, for Node 22+ and browsers, and a sync
 * engine keeping a local replica. Node-only helpers (files from disk, a plugin's environment, the
 * SQLite replica store) are in `@pod/client/node`.
 */
export {
  PodClient,
  PodCore,
  DEFAULT_URL,
  DEFAULT_BULK_LIMIT,
  type PodClientOptions,
  type JsonEndpoint,
  type QueryKeys,
  type Filter,
  type SearchOptions,
  type IterateOptions,
  type EdgeSpec,
  type BulkRequest,
  type BulkResult,
  type UploadOptions,
  type PhotoOptions,
  type PhotoRead,
  type PodVersion,
  type ChangesOptions,
  type ChangePage,
} from './client.js';
export { PodError, FileIntegrityError } from './errors.js';
export type { RequestOptions, Retry, Policy } from './http.js';
export { imageInfo, sha256Hex, type Bytes, type ImageInfo } from './files.js';
export {
  Item,
  ItemClasses,
  defineItem,
  type ValueOf,
  type PropertyTypes,
  type EdgeTargets,
  type Properties,
  type PropertyComparisons,
  type PropertyFilter,
  type EdgeLists,
  type ItemInit,
  type ItemClass,
  type DefinedItemClass,
  type ReceivedItem,
  type ReceivedEdge,
  type WireForm,
  type ItemJSON,
} from './items.js';
export {
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
  builtinItemClasses,
  schemaDeclarations,
  schemaPayload,
  type SchemaMeta,
} from './types.js';
export {
  SyncEngine,
  type SyncEngineOptions,
  type SyncEvents,
  type ConflictPolicy,
  type Conflict,
  type Resolution,
  type PushPlan,
} from './sync/engine.js';
export {
  MemoryStore,
  type LocalStore,
  type StoreWrite,
  type PendingChange,
  type Outbox,
  type EdgeEnds,
  type Patch,
  type PodItem,
  type Awaitable,
} from './sync/store.js';
export { LiveFeed, type LiveFeedOptions, type FeedStatus } from './sync/feed.js';
