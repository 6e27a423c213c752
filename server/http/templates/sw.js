// Tandem's service worker: the page shell (the editor and embed pages of documents opened
// before, the bundles, the stylesheet, the icon) opens offline. Network first, so an online
// page is always the server's current one; the cache answers only when the network does not.
// The document itself lives in IndexedDB (client_js/src/lib/localcopy.js), never here.
//
// Nothing token-bearing is kept: pages are stored under their URL without the query (a
// `?token=` never reaches the cache, and the HTML holds no token), and the API, /ws and
// /events are never touched. The version is the bundles' digest, so a deploy installs a new
// worker that drops the old cache.
const VERSION = '__VERSION__'
const CACHE = 'tandem-shell-' + VERSION
const BASE = new URL(self.registration.scope).pathname.replace(/\/+$/, '')
const SHELL = ['/static/editor.js', '/static/embed.js', '/static/tandem.css', '/static/favicon.svg']
const PAGE = new RegExp('^/(d|embed)/(?:__DOC_ID__)$')  // the server's one doc-id rule

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL.map((path) => BASE + path))).then(() => self.skipWaiting()))
})

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('tandem-shell-') && name !== CACHE) await caches.delete(name)
    }
    await self.clients.claim()
  })())
})

// The path within the service ('/d/notes'), or null for another origin or outside the base.
function servicePath (url) {
  if (url.origin !== self.location.origin || !url.pathname.startsWith(BASE + '/')) return null
  return url.pathname.slice(BASE.length)
}

function kept (path) {
  return PAGE.test(path) || SHELL.includes(path) || path === '/favicon.ico'
}

async function networkFirst (request, key) {
  const cache = await caches.open(CACHE)
  try {
    const response = await fetch(request)
    if (response.ok && response.type === 'basic') await cache.put(key, response.clone())
    return response
  } catch (err) {
    const cached = await cache.match(key)
    if (cached) return cached
    throw err
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request
  if (request.method !== 'GET') return
  const url = new URL(request.url)
  const path = servicePath(url)
  if (path === null || !kept(path)) return // the API, sockets, history, home: the network's
  event.respondWith(networkFirst(request, url.origin + url.pathname))
})

// A page opened before the worker was installed asks to be kept: {keep: '/d/notes'}.
self.addEventListener('message', (event) => {
  const path = typeof event.data?.keep === 'string' ? event.data.keep : null
  if (path === null || !PAGE.test(path)) return
  const url = self.location.origin + BASE + path
  event.waitUntil(networkFirst(new Request(url, { credentials: 'same-origin' }), url).catch(() => {}))
})
