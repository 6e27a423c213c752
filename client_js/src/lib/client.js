// TandemClient: one document over the y-websocket protocol, with what a UI needs on top of the
// stock provider: a connection state, an "unsynced local changes" flag, presence, token refresh
// and the server's notifications.
//
//   const client = new TandemClient({ server: 'https://host', doc: 'notes', getToken, user })
//   client.on('state', (state) => …)          // connecting | connected | reconnecting | offline
//                                              // | unauthorized | forbidden | deleted | closed
//   client.closeReason                         // the server's reason for a terminal close
//   client.on('unsynced', (pending) => …)     // true while local edits have not reached the server
//   client.kept                                // every unsent edit is stored on this device
//   client.keeping                             // the latest ones are being stored (milliseconds)
//                                              // (IndexedDB): they survive closing the page
//   client.on('presence', (people) => …)      // [{clientId, name, color, self}]
//   client.on('notification', (event) => …)   // JSON events from WS /events, when offered
//   client.on('loading', (progress) => …)     // {received, total} bytes while a large document
//                                              // streams in; null once it is loaded
//   client.on('token', (token) => …)          // a fresh token from getToken() was taken (after
//                                              // a 4401: expiry, or a revocation for a new role)
//   client.fragment                            // the `content` XmlFragment (the document body)
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { Emitter } from './emitter.js'
import { EventStream } from './events.js'
import { LocalCopy, localCopyName } from './localcopy.js'

export const State = Object.freeze({
  CONNECTING: 'connecting',
  CONNECTED: 'connected',
  RECONNECTING: 'reconnecting',
  OFFLINE: 'offline',
  UNAUTHORIZED: 'unauthorized',
  FORBIDDEN: 'forbidden',
  DELETED: 'deleted',
  CLOSED: 'closed'
})

const TERMINAL = new Set([State.UNAUTHORIZED, State.FORBIDDEN, State.DELETED, State.CLOSED])
const CLOSE_UNAUTHENTICATED = 4401
const CLOSE_FORBIDDEN = 4403
const CLOSE_NOT_FOUND = 4404 // the document was deleted (DESIGN: close codes)
// Liveness (README, "Dead peers"): presence is renewed every HEARTBEAT seconds, and the server is
// told so (`?heartbeat=`): silent for 10 s, a client loses its presence for the others. The
// server echoes each renewal back, so a synced socket that brings nothing for DEAD_LINK_MS is a
// dead link (a network that went away without a close): it is dropped and a new one dialled.
const HEARTBEAT = 4
const DEAD_LINK_MS = 10000
// At most one confirmation round trip (see _checkSynced) per this many ms while someone types:
// the server answers each with a sync step 2 (its delete set), so not one per keystroke.
const PROBE_GAP_MS = 400
// …and longer when the answers are large (the server's sync step 2 always carries the delete
// set, tens of KB in a large, much-edited document): at most this many bytes per ms of probing.
const PROBE_BYTES_PER_MS = 20
const MAX_PROBE_GAP_MS = 10000

/** The service's base URL (page origin when empty), normalised without a trailing slash. */
export function baseUrl (server) {
  const url = new URL(server || '/', window.location.href)
  url.search = ''
  url.hash = ''
  return url.href.replace(/\/+$/, '')
}

/** ws(s)://host[:port][/prefix]/ws from the service's http(s) base URL. */
export function wsUrl (server) {
  const url = new URL(baseUrl(server))
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  return url.href.replace(/\/+$/, '') + '/ws'
}

export class TandemClient extends Emitter {
  /**
   * @param {object} opts
   * @param {string} [opts.server] base URL of the service (default: this page's origin)
   * @param {string} opts.doc document id
   * @param {string} [opts.token] a fixed token
   * @param {() => Promise<string|null>|string|null} [opts.getToken] supplies a (fresh) token; it is
   *   asked again when the server closes the socket with 4401 (expired or invalid token)
   * @param {{name: string, color: string} | ((token: string|null) => {name: string, color: string})} [opts.user]
   *   who this is, shown to the others; a function gets the token (identity from its claims)
   * @param {boolean} [opts.readonly] never sends document changes
   * @param {string} [opts.eventsPath] the server's notifications socket (e.g. '/events'), if any
   * @param {boolean} [opts.persist] keep the document in this browser (IndexedDB), so unsent
   *   edits survive closing the page and the document opens offline (default: true)
   */
  constructor ({ server = '', doc, token = null, getToken = null, user = null, readonly = false, eventsPath = null, persist = true }) {
    super()
    this.server = baseUrl(server)
    this.doc = doc
    this.readonly = readonly
    this._getToken = getToken || (() => token)
    this._token = null
    this.ydoc = new Y.Doc()
    this.fragment = this.ydoc.getXmlFragment('content')
    this.provider = new WebsocketProvider(wsUrl(server), doc, this.ydoc, {
      connect: false,
      disableBc: true, // every change goes through the server, so "synced" means what it says
      maxBackoffTime: 8000,
      WebSocketPolyfill: this._countingSocket()
    })
    this.awareness = this.provider.awareness
    if (readonly && this.provider._updateHandler) {
      // A viewer never sends document changes (with auth the server refuses them anyway).
      this.ydoc.off('update', this.provider._updateHandler)
    }
    this.state = State.CONNECTING
    this.unsynced = false
    this._keptSeq = 0 // local changes the kept copy is known to hold
    this._keeping = 0 // writes of the `pending` mark under way
    this._persist = persist
    this.local = null // the LocalCopy (./localcopy.js) once started
    this._localSeq = 0 // local changes made so far
    this._probe = null // {seq}: a sync step 1 sent to learn the server has applied up to seq
    this._lastProbe = 0
    this._probeGap = PROBE_GAP_MS
    this.loading = null // {received, total} while a large document streams in
    this.closeReason = ''
    this._everConnected = false
    this._destroyed = false
    this._pollTimer = 0
    this._heard = 0 // Date.now() of the last frame from the server
    this._liveness = setInterval(() => this._checkLiveness(), 1000)
    this._renewTimer = 0
    this._events = null
    this._eventsPath = eventsPath
    this._user = user
    if (user && typeof user === 'object') this.setUser(user)
    this._wire()
  }

  /**
   * Fetch the token, load the copy kept in this browser, and connect (the sync handshake then
   * sends whatever the server lacks). Resolves once the first connection attempt has started.
   */
  async start () {
    this._token = (await this._getToken()) || null
    if (this._destroyed) return
    this._applyToken()
    if (typeof this._user === 'function') this.setUser(this._user(this._token))
    if (this._persist) await this._openLocal()
    if (this._destroyed) return
    if (navigator.onLine === false) this._setState(State.OFFLINE)
    else this.provider.connect()
    if (this._eventsPath) this._startEvents()
  }

  // The stored copy, applied before the socket opens. A copy that holds changes the server never
  // confirmed says so (`pending`), so "unsynced" and the leave warning survive a reload too.
  async _openLocal () {
    const local = new LocalCopy(await localCopyName(this.server, this.doc, this._token), this.ydoc)
    this.local = local
    const { pending } = await local.opened
    if (this._destroyed || !local.available) return
    if (pending && !this.readonly) {
      this._keptSeq = ++this._localSeq
      this._setUnsynced(true)
    } else if (this.unsynced) {
      this._keepSoon() // typed while the copy was opening: now it can be kept
    }
  }

  /** Forget the copy kept in this browser (the document was deleted, or access ended). */
  async forgetLocal () {
    const local = this.local
    this.local = null
    this.emit('unsynced', this.unsynced) // kept no more
    if (local) await local.clear()
  }

  /**
   * Stay in a terminal state without connecting: for a page that knows it has no access (a hub
   * with auth and no token), so it says so instead of "Connecting…".
   */
  halt (state) {
    if (!TERMINAL.has(state)) throw new Error(`halt() takes a terminal state, not ${state}`)
    this.provider.disconnect()
    this._setState(state)
  }

  get token () {
    return this._token
  }

  setUser ({ name, color }) {
    this.user = { name, color }
    this.awareness.setLocalStateField('user', { name, color })
  }

  /** Everyone connected to the document (this client first), from awareness. */
  presence () {
    const people = []
    for (const [clientId, state] of this.awareness.getStates()) {
      const user = state && state.user
      if (!user || typeof user.name !== 'string') continue
      people.push({ clientId, name: user.name, color: user.color, self: clientId === this.ydoc.clientID })
    }
    return people.sort((a, b) => (b.self - a.self) || a.name.localeCompare(b.name))
  }

  destroy () {
    this._destroyed = true
    clearTimeout(this._pollTimer)
    clearTimeout(this._keepTimer)
    clearInterval(this._liveness)
    clearTimeout(this._renewTimer)
    window.removeEventListener('beforeunload', this._beforeUnload)
    window.removeEventListener('online', this._online)
    window.removeEventListener('offline', this._offline)
    this._events?.close()
    this.awareness.setLocalState(null)
    this.provider.destroy()
    this.local?.close()
    this.ydoc.destroy()
    this.clear()
  }

  // -- internals -------------------------------------------------------------------------------

  // The browser's WebSocket, counting what arrives before the document is synced: the server
  // streams a large document as update messages before its sync step 2 (DESIGN: initial sync).
  _countingSocket () {
    const client = this
    return class CountingWebSocket extends WebSocket {
      constructor (...args) {
        super(...args)
        client._received = 0
        client._heard = Date.now()
        client._probe = null // a probe on an earlier socket will never be answered
        this.addEventListener('message', (event) => {
          client._heard = Date.now()
          client._renewAfterFrame()
          client._onFrame(event.data)
        })
      }
    }
  }

  _onFrame (data) {
    if (!(data instanceof ArrayBuffer)) return
    const head = new Uint8Array(data, 0, Math.min(2, data.byteLength))
    if (head[0] === 0 && head[1] === 1 && this.provider.synced) this._probeAnswered(data.byteLength)
    if (this.provider.synced) return
    if (head[0] !== 0 || head[1] !== 2) return // not a sync update: not part of the stream
    this._received += data.byteLength
    if (this.loading === null) this._fetchTotal()
    this._setLoading({ received: this._received, total: this._total || null })
  }

  // The stored size of the document, for "12 of 48 MB" (an estimate: progress only).
  async _fetchTotal () {
    this._total = 0
    try {
      const headers = this._token ? { Authorization: `Bearer ${this._token}` } : {}
      const response = await fetch(`${this.server}/api/docs/${encodeURIComponent(this.doc)}`, { headers })
      if (response.ok) this._total = (await response.json()).size || 0
    } catch {
      return // no total: progress shows what arrived
    }
    if (this.loading) this._setLoading({ received: this._received, total: this._total || null })
  }

  _setLoading (progress) {
    if (progress && progress.total !== null && progress.total < progress.received) {
      progress = { ...progress, total: null } // the estimate was short: say what arrived
    }
    this.loading = progress
    this.emit('loading', progress)
  }

  _wire () {
    const provider = this.provider
    provider.on('status', ({ status }) => {
      if (status === 'connected') return // "connected" for us means synced, see below
      if (TERMINAL.has(this.state) || this.state === State.OFFLINE) return
      this._setState(this._everConnected || provider.wsUnsuccessfulReconnects > 0 ? State.RECONNECTING : State.CONNECTING)
    })
    provider.on('sync', (synced) => {
      if (!synced) return
      if (this.loading) this._setLoading(null)
      this._everConnected = true
      this._setState(State.CONNECTED)
      this._checkSynced()
    })
    provider.on('closed', ({ code, reason }) => {
      this.closeReason = reason || ''
      this._onTerminalClose(code)
    })
    this.ydoc.on('update', (_update, origin) => {
      if (origin === provider || (this.local && origin === this.local.persistence)) return
      if (this.readonly) return // nothing of it is sent: it is no unsent change
      this._localSeq++
      this._setUnsynced(true)
      this._keepSoon()
      this._checkSynced()
    })
    // Leaving with changes the server has not confirmed: the browser asks first (they are kept
    // on this device when `kept`, but nobody else sees them until the page is opened again).
    this._beforeUnload = (event) => {
      if (!this.unsynced || TERMINAL.has(this.state)) return
      event.preventDefault()
      event.returnValue = ''
    }
    window.addEventListener('beforeunload', this._beforeUnload)
    this.awareness.on('change', () => this.emit('presence', this.presence()))
    this._online = () => {
      if (TERMINAL.has(this.state) || this._destroyed) return
      this._setState(this._everConnected ? State.RECONNECTING : State.CONNECTING)
      this.provider.connect()
    }
    this._offline = () => {
      if (TERMINAL.has(this.state) || this._destroyed) return
      // Stop retrying into the void; edits keep going into the local document and are sent on
      // reconnect by the sync handshake.
      this._setState(State.OFFLINE)
      this.provider.disconnect()
    }
    window.addEventListener('online', this._online)
    window.addEventListener('offline', this._offline)
  }

  _applyToken () {
    const params = { heartbeat: String(HEARTBEAT) }
    if (this._token) params.token = this._token
    this.provider.params = params
  }

  // Once a second: renew presence when HEARTBEAT seconds passed since it last went out, and drop
  // a synced socket that has brought nothing for DEAD_LINK_MS (before the sync, a large document
  // may take long to arrive on a slow link: y-websocket's own 30 s watchdog is left to judge).
  _checkLiveness () {
    const provider = this.provider
    if (this._destroyed) return
    const now = Date.now()
    if (provider.wsconnecting && provider.ws && now - this._heard > DEAD_LINK_MS) {
      // A handshake into a dead network never ends by itself: dial again.
      this._redial()
      return
    }
    if (!provider.wsconnected) return
    this._renewPresence()
    if (provider.synced && now - this._heard > DEAD_LINK_MS) {
      console.info('tandem: no frame from the server for %d s: reconnecting', Math.round((now - this._heard) / 1000))
      this._redial()
    }
  }

  _renewPresence () {
    clearTimeout(this._renewTimer)
    this._renewTimer = 0
    if (!this.provider.wsconnected || this._destroyed) return
    const local = this.awareness.getLocalState()
    const meta = this.awareness.meta.get(this.ydoc.clientID)
    if (local !== null && meta && Date.now() - meta.lastUpdated >= HEARTBEAT * 1000) {
      this.awareness.setLocalState(local) // same state, next clock: one small frame
    }
  }

  // The next renewal, timed from a frame's arrival: a timer set in a network event is not a
  // chained one, so a hidden tab's browser still runs it on time (Chrome throttles chained
  // timers, such as the 1 s interval above, to once a minute in tabs hidden for a while, and
  // the server would take the silence for a dead peer).
  _renewAfterFrame () {
    if (this._renewTimer || this._destroyed) return
    const meta = this.awareness.meta.get(this.ydoc.clientID)
    const due = meta ? meta.lastUpdated + HEARTBEAT * 1000 - Date.now() : HEARTBEAT * 1000
    this._renewTimer = setTimeout(() => this._renewPresence(), Math.max(due, 0))
  }

  _redial () {
    this.provider.disconnect()
    this.provider.connect()
  }

  async _onTerminalClose (code) {
    if (code === CLOSE_UNAUTHENTICATED) {
      // The token expired (or was refused): ask for a fresh one and go on if we get it.
      const previous = this._token
      let fresh = null
      try {
        fresh = (await this._getToken()) || null
      } catch (err) {
        console.warn('tandem: getToken failed', err)
      }
      if (this._destroyed) return
      if (fresh && fresh !== previous) {
        this._token = fresh
        this._applyToken()
        this._events?.setToken(fresh)
        this._setState(State.RECONNECTING)
        this.provider.connect()
        this.emit('token', fresh)
        return
      }
      if (this.closeReason.includes('revoked')) await this.forgetLocal()
      this._setState(State.UNAUTHORIZED)
      return
    } else if (code === CLOSE_FORBIDDEN) {
      await this.forgetLocal() // no access any more: nothing of it stays on this device
      this._setState(State.FORBIDDEN)
    } else if (code === CLOSE_NOT_FOUND) {
      await this.forgetLocal() // deleted: a kept copy would bring it back
      this._setState(State.DELETED)
    } else {
      this._setState(State.CLOSED)
    }
  }

  // Local changes count as synced once the server confirmed them: when they have left the
  // browser's send buffer on a synced socket, the client sends a sync step 1 (the probe) and
  // the server's sync step 2 answering it proves that everything sent before was applied (one
  // socket, one ordered path per room). A change made after the probe left waits for the next,
  // at most one probe per PROBE_GAP_MS (more for large answers).
  // Until then (offline, reconnecting, a tab closed and opened again) they are "unsynced", the
  // copy kept on this device says so, and the sync handshake sends them when the socket is back.
  _checkSynced () {
    clearTimeout(this._pollTimer)
    if (!this.unsynced || this._probe) return
    const ws = this.provider.ws
    if (this.provider.synced && ws && ws.readyState === WebSocket.OPEN) {
      const wait = this._lastProbe + this._probeGap - Date.now()
      if (ws.bufferedAmount === 0 && wait <= 0) {
        this._probe = { seq: this._localSeq }
        this._lastProbe = Date.now()
        ws.send(syncStep1(this.ydoc))
        return
      }
      if (ws.bufferedAmount === 0) {
        this._pollTimer = setTimeout(() => this._checkSynced(), wait)
        return
      }
    } else if (!this.provider.wsconnected) {
      return // the 'sync' event calls us again
    }
    this._pollTimer = setTimeout(() => this._checkSynced(), 100)
  }

  _probeAnswered (size) {
    const probe = this._probe
    if (!probe) return
    this._probeGap = Math.min(MAX_PROBE_GAP_MS, Math.max(PROBE_GAP_MS, size / PROBE_BYTES_PER_MS))
    this._probe = null
    if (probe.seq === this._localSeq) {
      this._setUnsynced(false)
      this.local?.markPending(false)
    } else {
      this._checkSynced() // more was typed meanwhile: ask again once it has left
    }
  }

  /** Every unsent change is in the copy kept on this device (committed to IndexedDB). */
  get kept () {
    return Boolean(this.local?.available) && this.unsynced && this._keptSeq === this._localSeq
  }

  /** The latest changes are on their way into the kept copy (it takes milliseconds). */
  get keeping () {
    return Boolean(this.local?.available) && (Boolean(this._keepTimer) || this._keeping > 0)
  }

  // Record in the kept copy that it holds unconfirmed changes. The mark's transaction spans the
  // updates store, so once it commits, every change y-indexeddb wrote before it is stored: the
  // copy holds the changes up to then (`kept`). A write that fails leaves them unkept.
  _keepSoon () {
    if (!this.local?.available || this._keepTimer) return
    this._keepTimer = setTimeout(async () => {
      this._keepTimer = 0
      const seq = this._localSeq // y-indexeddb has written these in transactions of their own
      this._keeping++
      const committed = await this.local?.markPending(true)
      this._keeping--
      if (committed) this._keptSeq = Math.max(this._keptSeq, seq)
      this.emit('unsynced', this.unsynced)
    }, 0)
    this.emit('unsynced', this.unsynced) // not all kept, until that commits (status: data-kept)
  }

  _setUnsynced (value) {
    if (this.unsynced === value) return
    this.unsynced = value
    this.emit('unsynced', value)
  }

  _setState (state) {
    if (this.state === state) return
    this.state = state
    this.emit('state', state)
  }

  _startEvents () {
    if (navigator.onLine === false) {
      // Nothing to notify offline: start when the network is back (no failing sockets meanwhile).
      window.addEventListener('online', () => { if (!this._destroyed && !this._events) this._startEvents() }, { once: true })
      return
    }
    this._events = new EventStream({
      server: this.server,
      path: this._eventsPath,
      docs: [this.doc],
      token: this._token,
      onEvent: (event) => this.emit('notification', event)
    })
    this._events.start()
  }
}

// A sync step 1 with this document's state vector, as y-websocket frames it.
function syncStep1 (ydoc) {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 0) // messageSync
  syncProtocol.writeSyncStep1(encoder, ydoc)
  return encoding.toUint8Array(encoder)
}
