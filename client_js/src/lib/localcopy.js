// The copy of a document kept in this browser: y-indexeddb (Yjs's own IndexedDB provider) stores
// every update as it happens, so edits made offline survive closing the page and the document
// opens without the network. Beside it, a `pending` mark says whether the copy holds changes
// the server has not confirmed yet (lib/client.js decides when it has).
//
// One database per server, document and (with a token) user: two people signed in on one
// browser never see, or send, each other's unsent edits.
import { IndexeddbPersistence } from 'y-indexeddb'

const OPEN_TIMEOUT_MS = 3000

/** The database name: `tandem:<server base URL>:<doc>` and, with a token, `:<user>`. */
export async function localCopyName (server, doc, token) {
  let name = `tandem:${server}:${doc}`
  if (token) name += `:${await tokenOwner(token)}`
  return name
}

// The token's `sub` claim (a JWT from `tandem token`); for any other token (an application's
// verifier), a digest of it: never the token itself.
async function tokenOwner (token) {
  const parts = String(token).split('.')
  if (parts.length === 3) {
    try {
      const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/')
      const claims = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)))
      if (claims && typeof claims.sub === 'string' && claims.sub) return `user:${encodeURIComponent(claims.sub)}`
    } catch {
      // not a JWT after all: digest it below
    }
  }
  if (!globalThis.crypto?.subtle) return 'token'
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(String(token)))
  return 'token:' + Array.from(new Uint8Array(digest).slice(0, 12), (b) => b.toString(16).padStart(2, '0')).join('')
}

export class LocalCopy {
  constructor (name, ydoc) {
    this.name = name
    this.available = false
    this.persistence = null
    try {
      this.persistence = new IndexeddbPersistence(name, ydoc)
    } catch (err) { // no IndexedDB here (some private modes, storage blocked for the site)
      console.info('tandem: this browser keeps no copy of the document:', err?.message || err)
    }
    // {pending}: the stored copy is applied to the document (or the browser gave up on it).
    this.opened = this._open()
  }

  async _open () {
    const persistence = this.persistence
    if (!persistence) return { pending: false }
    let timer = 0
    const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), OPEN_TIMEOUT_MS) })
    try {
      const synced = await Promise.race([persistence.whenSynced, timeout])
      if (!synced) {
        console.info('tandem: the copy kept in this browser did not open in time; going on without it')
        return { pending: false }
      }
      this.available = true
      return { pending: Boolean(await persistence.get('pending')) }
    } catch (err) {
      console.info('tandem: the copy kept in this browser cannot be read:', err?.message || err)
      return { pending: false }
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * Mark whether the copy holds unconfirmed changes. Resolves true once committed: the
   * transaction spans the updates store too, so it commits after every update written before.
   */
  markPending (value) {
    const db = this.persistence?.db
    if (!db || !this.available) return Promise.resolve(false)
    return new Promise((resolve) => {
      let tx
      try {
        tx = db.transaction(['updates', 'custom'], 'readwrite')
        tx.objectStore('custom').put(value, 'pending')
      } catch {
        resolve(false) // closed (cleared, or the page is going away)
        return
      }
      tx.oncomplete = () => resolve(true)
      tx.onerror = tx.onabort = () => resolve(false)
    })
  }

  close () {
    this.persistence?.destroy()
  }

  /** Delete the copy from this browser. */
  async clear () {
    this.available = false
    if (this.persistence) await this.persistence.clearData()
  }
}
