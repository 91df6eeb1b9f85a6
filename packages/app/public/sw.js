// The app's service worker: the page and its assets from a cache when the network is gone, so the app
// opens offline on this browser's replica. The page goes to the network first (a new build shows at
// once); assets have hashed names and never change. API calls are left alone.
const CACHE = 'pod-app-1';
const PAGE = '/';

/** The page as a browser asks for it (the Pod answers `/` with JSON otherwise), and the assets it names. */
async function cacheApp() {
  const cache = await caches.open(CACHE);
  const page = await fetch(PAGE, { headers: { accept: 'text/html' }, cache: 'no-cache' });
  if (!page.ok) return;
  const html = await page.clone().text();
  await cache.put(PAGE, page);
  const assets = [...html.matchAll(/\/assets\/[^"'\s>]+/g)].map(([path]) => path);
  const missing = [];
  for (const path of new Set(assets)) if (!(await cache.match(path, { ignoreVary: true }))) missing.push(path);
  await cache.addAll(missing);
  // Assets of older builds are dropped.
  for (const request of await cache.keys()) {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith('/assets/') && !assets.includes(pathname)) await cache.delete(request);
  }
}

async function networkFirst(request) {
  try {
    const response = await fetch(request);
    if (response.ok) void cacheApp().catch(() => {});
    return response;
  } catch (error) {
    const cached = await caches.match(PAGE);
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request) {
  // By address only: a module script's request carries an Origin header the cached one lacked (Vary).
  const cached = await caches.match(request, { ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) {
    const cache = await caches.open(CACHE);
    await cache.put(request, response.clone());
  }
  return response;
}

self.addEventListener('install', (event) => {
  event.waitUntil(cacheApp());
  self.skipWaiting();
});
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (request.mode === 'navigate' && url.pathname === PAGE) event.respondWith(networkFirst(request));
  else if (url.pathname.startsWith('/assets/')) event.respondWith(cacheFirst(request));
});
