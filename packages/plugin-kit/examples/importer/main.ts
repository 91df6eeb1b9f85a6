/** The container's entry point: the Pod starts the plugin with its run in the environment. */
import { PluginBase } from '../../src/index.js';
import Importer from './plugin.js';

await PluginBase.main(Importer);
