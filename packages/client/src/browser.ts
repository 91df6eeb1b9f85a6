/**
 * Browser-only helpers, apart from the core so that it stays loadable in Node:
 * `import { IndexedDbStore } from '@pod/client/browser'`.
 */
export { IndexedDbStore, type IndexedDbStoreOptions } from './sync/indexeddb.js';
