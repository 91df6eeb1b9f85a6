/**
 * `@pod/client`: the Pod v4 API for TypeScript, on `fetch`, for Node 20+ and browsers. Node-only
 * helpers (files from disk, a plugin's environment) are in `@pod/client/node`.
 */
export {
  PodClient,
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
} from './client.js';
export { PodError } from './errors.js';
export type { RequestOptions, Retry, Policy } from './http.js';
export { imageInfo, sha256Hex, type Bytes, type ImageInfo } from './files.js';
export {
  Item,
  defineItem,
  type ValueOf,
  type PropertyTypes,
  type EdgeTargets,
  type Properties,
  type PropertyFilter,
  type EdgeLists,
  type ItemInit,
  type ItemClass,
  type DefinedItemClass,
  type ReceivedItem,
  type ReceivedEdge,
  type WireForm,
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
} from './types.js';
