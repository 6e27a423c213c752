// What the pages share: the page's token, links that keep it, the server's hints (data-*).
export function pageData () {
  return document.body.dataset
}

/** The token this page was opened with (?token=…), if any. */
export function pageToken () {
  return new URLSearchParams(window.location.search).get('token')
}

/** A same-site URL that carries this page's token along (pages need it, the share link not). */
export function withToken (path) {
  const token = pageToken()
  if (!token) return path
  const url = new URL(path, window.location.href)
  url.searchParams.set('token', token)
  return url.pathname + url.search
}

/**
 * Give this page's token to every link of the page that leads to another of the service's pages
 * (the logo, History, the document's name…): with auth, each of them needs it. The API's links
 * and other sites' keep theirs as they are; a Share link is built apart, never with the token.
 */
export function keepTokenInLinks (root = document) {
  if (!pageToken()) return
  const base = basePath()
  for (const a of root.querySelectorAll('a[href]')) {
    const url = new URL(a.getAttribute('href'), window.location.href)
    if (url.origin !== window.location.origin || !url.pathname.startsWith(base + '/')) continue
    if (url.pathname.startsWith(`${base}/api/`) || url.pathname.startsWith(`${base}/static/`)) continue
    a.setAttribute('href', withToken(url.pathname + url.search) + url.hash)
  }
}

/** The base path the service is mounted at (set by the server behind a prefix), no slash at the end. */
export function basePath () {
  return (pageData().base || '').replace(/\/+$/, '')
}

export function authHeaders () {
  const token = pageToken()
  return token ? { Authorization: `Bearer ${token}` } : {}
}

/**
 * fetch() on this service: the base path in front, the page's token as a bearer token, JSON
 * bodies labelled. Fails with the server's message ({"error": …}) and `status` on a non-2xx.
 */
export async function request (path, init = {}) {
  const headers = { ...authHeaders(), ...(init.headers || {}) }
  if (init.body) headers['Content-Type'] = 'application/json'
  const response = await fetch(basePath() + path, { ...init, headers })
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`
    try { message = (await response.json()).error || message } catch {}
    throw Object.assign(new Error(message), { status: response.status })
  }
  return response
}

/**
 * Register the service worker ({base}/sw.js) so this page opens offline next time, and ask it to
 * keep this page now (the first visit was not served through it). A browser without service
 * workers, or a page that is not a secure context, just goes without.
 */
export function keepPageForOffline () {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return
  const base = basePath()
  navigator.serviceWorker.register(`${base}/sw.js`, { scope: `${base}/` }).then(async () => {
    const registration = await navigator.serviceWorker.ready
    registration.active?.postMessage({ keep: window.location.pathname.slice(base.length) })
  }).catch((err) => console.info('tandem: this page will not open offline:', err?.message || err))
}
