/**
 * The browser page of the client's browser tests and bench: page.ts bundled by esbuild (the shared
 * suites' `node:assert/strict` mapped to assert.ts), served with a page that loads it, on loopback.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** page.ts (compiled) and what it imports, as one browser script; nothing of Node may remain. */
export async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [here('./page.js')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    logLevel: 'silent',
    plugins: [
      {
        name: 'assert-for-browsers',
        setup(on) {
          on.onResolve({ filter: /^node:assert\/strict$/ }, () => ({ path: here('./assert.js') }));
        },
      },
    ],
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error('esbuild produced no bundle');
  return file.text;
}

export interface TestPage {
  /** `http://127.0.0.1:<port>/`: a page that has loaded the bundle once its `load` event fired. */
  url: string;
  close(): Promise<void>;
}

/** Serves `script` as /page.js under a blank page at `/`, on a loopback port of its own (its own origin). */
export async function servePage(script: string): Promise<TestPage> {
  const html =
    '<!doctype html><meta charset="utf-8"><title>Pod client test</title><script type="module" src="/page.js"></script>';
  const server = createServer((request, response) => {
    const [type, body] =
      request.url === '/page.js' ? ['text/javascript', script] : request.url === '/' ? ['text/html', html] : [];
    response.writeHead(body === undefined ? 404 : 200, { 'content-type': `${type ?? 'text/plain'}; charset=utf-8` });
    response.end(body ?? 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
