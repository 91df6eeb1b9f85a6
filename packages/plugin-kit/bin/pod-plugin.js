#!/usr/bin/env node
// The bin npm links: a committed file, so it is linked at install even before the TypeScript is compiled.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/src/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('pod-plugin: not built yet: run `npm run build` (or `npm install`) at the root of the Pod repository');
  process.exit(1);
}
await import(cli.href);
