/**
 * Where each part of the app lives: the first segment of the route (`#/<name>/…`) names a view, which
 * gets the rest. Views with a `title` are in the navigation, in this order.
 */
import type { ComponentChild } from 'preact';
import { ConflictsView } from './views/conflicts.js';
import { ItemView } from './views/data-item.js';
import { NewItemView } from './views/data-new.js';
import { SchemaView } from './views/data-schema.js';
import { SearchView } from './views/data-search.js';
import { TableView } from './views/data-table.js';
import { TypesView } from './views/data-types.js';
import { OAuthReturnView } from './views/oauth-return.js';
import { FilesView } from './views/files.js';
import { Overview } from './views/overview.js';
import { PhotosView } from './views/photos.js';
import { PluginInstall } from './views/plugin-install.js';
import { Plugins } from './views/plugins.js';

export interface Route {
  /** The navigation's label; views reached only through links have none. */
  title?: string;
  view: (params: string[]) => ComponentChild;
}

export const routes: Record<string, Route> = {
  '': { title: 'Overview', view: () => <Overview /> },
  types: { title: 'Types', view: () => <TypesView /> },
  table: { view: ([type = '']) => <TableView key={type} type={type} /> },
  item: { view: ([id = '']) => <ItemView key={id} id={id} /> },
  new: { view: ([type = '']) => <NewItemView key={type} type={type} /> },
  search: { title: 'Search', view: ([text]) => <SearchView key={text} text={text} /> },
  schema: { title: 'Schema', view: () => <SchemaView /> },
  plugins: { title: 'Plugins', view: ([page]) => (page === 'install' ? <PluginInstall /> : <Plugins />) },
  'oauth-return': { view: () => <OAuthReturnView /> },
  files: { title: 'Files', view: () => <FilesView /> },
  photos: { title: 'Photos', view: () => <PhotosView /> },
  conflicts: { view: () => <ConflictsView /> },
};
