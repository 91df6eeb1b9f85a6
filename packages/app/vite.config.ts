// The app is served by the Pod from dist/www (api/web-app.ts): hashed assets under /assets/, and no
// inline script, since the page's Content-Security-Policy allows scripts from the Pod's origin only.
import { defineConfig } from 'vite';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist/www',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2022',
  },
  // `vite` (npm run dev -w @pod/app) proxies the API to a Pod on the default port.
  server: { proxy: { '^/(v[2-5]|version)': 'http://127.0.0.1:3030' } },
});
