/**
 * Where each part of the app lives: the first segment of the route (`#/<name>/…`) names a view, which
 * gets the rest. Views with a `title` are in the navigation, in this order.
 */
import type { ComponentChild } from 'preact';
import { OAuthReturnView } from './views/oauth-return.js';
import { Overview } from './views/overview.js';
import { PluginInstall } from './views/plugin-install.js';
import { Plugins } from './views/plugins.js';

export interface Route {
  /** The navigation's label; views reached only through links have none. */
  title?: string;
  view: (params: string[]) => ComponentChild;
}

export const routes: Record<string, Route> = {
  '': { title: 'Overview', view: () => <Overview /> },
  plugins: { title: 'Plugins', view: ([page]) => (page === 'install' ? <PluginInstall /> : <Plugins />) },
  'oauth-return': { view: () => <OAuthReturnView /> },
};
