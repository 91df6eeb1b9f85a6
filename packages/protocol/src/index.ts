/**
 * The Pod v4 HTTP API, declared once: every route's request (validated by the server, reused by
 * the client library) and the type of its answer, the error body, the plugin permissions and the
 * status words of plugin runs. Rules that need the owner's schema (is a property declared, does a
 * value fit its type) live with the store, not here.
 */
export * from './values.js';
export * from './json.js';
export * from './items.js';
export * from './endpoints.js';
export * from './thumbnails.js';
export * from './oauth.js';
export * from './errors.js';
export * from './statuses.js';
export * from './permissions.js';
export * from './plugin-settings.js';
export * from './plugin-dir.js';
export * from './plugin-web.js';
export * from './central-schema.js';
export * from './operations.js';
