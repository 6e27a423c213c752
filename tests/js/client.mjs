// A stock Yjs client (yjs + y-websocket's WebsocketProvider) driven over stdin/stdout, one JSON
// object per line, so Python tests can run real Yjs peers. Replies: {"id", "ok", "result"|"error"}.
import readline from 'node:readline'
import { createHash } from 'node:crypto'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

let ydoc = null
let provider = null
let awarenessMessages = 0 // awareness frames received from the server
const closes = []
const denied = []

// y-websocket only logs permission-denied auth replies; record them for the tests.
const warn = console.warn
console.warn = (...args) => {
  if (String(args[0]).startsWith('Permission denied')) denied.push(String(args[0]))
  else warn(...args)
}

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

// What the server sent, frame by frame: sizes, and the messages before the first sync step 2.
const received = { frames: 0, bytes: 0, maxFrame: 0, updatesBeforeSynced: 0, syncedAt: null }
class CountingWebSocket extends WebSocket {
  constructor (...args) {
    super(...args)
    this.addEventListener('message', (event) => {
      const data = new Uint8Array(event.data)
      received.frames++
      received.bytes += data.length
      received.maxFrame = Math.max(received.maxFrame, data.length)
      // [0 = sync, 2 = update]: a piece of a streamed initial sync while not yet synced.
      if (data[0] === 0 && data[1] === 2 && provider && !provider.synced) received.updatesBeforeSynced++
    })
  }
}

const waitFor = (pred, timeoutMs = 10000) => new Promise((resolve, reject) => {
  const started = Date.now()
  const tick = () => {
    if (pred()) return resolve(true)
    if (Date.now() - started > timeoutMs) return reject(new Error('timeout'))
    setTimeout(tick, 10)
  }
  tick()
})

const marks = {} // relative positions by name (markPosition)

const fragment = () => ydoc.getXmlFragment('content')

const paragraph = (text) => {
  const p = new Y.XmlElement('paragraph')
  p.insert(0, [new Y.XmlText(text)])
  return p
}

const commands = {
  async connect ({ url, doc, params = {}, clientId = null, awareness = null, waitSync = true, syncTimeoutMs = 10000 }) {
    ydoc = new Y.Doc()
    if (clientId !== null) ydoc.clientID = clientId
    provider = new WebsocketProvider(url, doc, ydoc, {
      WebSocketPolyfill: CountingWebSocket, params, disableBc: true, maxBackoffTime: 500
    })
    provider.on('sync', (synced) => { if (synced && received.syncedAt === null) received.syncedAt = Date.now() })
    const handleAwareness = provider.messageHandlers[1]
    provider.messageHandlers[1] = (...args) => { awarenessMessages++; return handleAwareness(...args) }
    provider.on('connection-close', (ev) => { closes.push({ code: ev?.code ?? null, reason: ev?.reason ?? '' }) })
    provider.on('status', (ev) => out({ event: 'status', status: ev.status }))
    if (awareness) provider.awareness.setLocalState(awareness)
    if (waitSync) await waitFor(() => provider.synced, syncTimeoutMs)
    return { clientId: ydoc.clientID }
  },
  // A large document in y-prosemirror's shape, sent as one update per transaction of about
  // `batchBytes`: paragraphs of ~900 characters, some bold, some with deletions and edits.
  async build ({ megabytes, batchBytes = 1000000, prefix = '' }) {
    const words = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor'.split(' ')
    let size = 0
    let i = fragment().length
    while (size < megabytes * 1e6) {
      let batch = 0
      ydoc.transact(() => {
        while (batch < batchBytes) {
          const text = new Y.XmlText()
          const p = new Y.XmlElement('paragraph')
          p.insert(0, [text])
          fragment().push([p])
          let s = prefix
          while (s.length < 900) s += words[(i * 7 + s.length) % words.length] + ' '
          text.insert(0, s)
          if (i % 5 === 0) text.format(10, 20, { strong: {} })
          if (i % 7 === 0) text.delete(100, 30)
          if (i % 11 === 0) text.insert(50, 'edit ')
          batch += 930
          i++
        }
      })
      size += batch
      // Let the socket drain: one batch in flight at a time, as a person's edits would be.
      await waitFor(() => provider.ws === null || provider.ws.bufferedAmount === 0, 60000)
    }
    return { paragraphs: fragment().length }
  },
  // Type a character every `every` ms for `ms` ms at the end of the last paragraph (a new one
  // of its own first); returns how many were typed.
  async typeFor ({ ms, every = 5, prefix = 't' }) {
    const p = paragraph(prefix)
    fragment().push([p])
    const text = p.get(0)
    const end = Date.now() + ms
    let typed = 0
    while (Date.now() < end) {
      text.insert(text.length, String.fromCharCode(97 + (typed % 26)))
      typed++
      await new Promise((resolve) => setTimeout(resolve, every))
    }
    return typed
  },
  // A short fingerprint of the body, for comparing large documents without sending them.
  async digest () {
    const xml = fragment().toString()
    return { sha256: createHash('sha256').update(xml).digest('hex'), length: xml.length, paragraphs: fragment().length }
  },
  async received () { return received },
  async append ({ text }) {
    fragment().push([paragraph(text)])
    return null
  },
  async typeAt ({ index = 0, offset = 0, text }) {
    const p = fragment().get(index)
    p.get(0).insert(offset, text)
    return null
  },
  async formatAt ({ index = 0, offset = 0, length, mark, attrs = {} }) {
    fragment().get(index).get(0).format(offset, length, { [mark]: attrs })
    return null
  },
  // A Yjs relative position in the text of paragraph `index` (its first XmlText) at `offset`,
  // kept under `name`; `position` gives where it is now: paragraph index and offset.
  async markPosition ({ name = 'cursor', index = 0, offset = 0 }) {
    const text = fragment().get(index).get(0)
    marks[name] = Y.createRelativePositionFromTypeIndex(text, offset)
    return null
  },
  async position ({ name = 'cursor' }) {
    const abs = Y.createAbsolutePositionFromRelativePosition(marks[name], ydoc)
    if (abs === null) return null
    const paragraph = abs.type.parent
    return { index: fragment().toArray().indexOf(paragraph), offset: abs.index, text: abs.type.toString() }
  },
  // The formatted text of paragraph `index` (its first XmlText) as a Yjs delta.
  async delta ({ index = 0 }) { return fragment().get(index).get(0).toDelta() },
  // Base64 Yjs relative positions of a range in paragraph `index`'s text, as y-prosemirror
  // makes them for a selection (what the comments API takes as an anchor).
  async relativeRange ({ index = 0, from, to }) {
    const text = fragment().get(index).get(0)
    const rel = (offset) => Buffer.from(Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(text, offset))).toString('base64')
    return { from: rel(from), to: rel(to) }
  },
  async deleteAt ({ index = 0, length = 1 }) { fragment().delete(index, length); return null },
  async xml () { return fragment().toString() },
  // The body of a Yjs update (e.g. a version exported by the server) as this Yjs build reads it.
  async xmlOfUpdate ({ hex }) {
    const doc = new Y.Doc()
    Y.applyUpdate(doc, Buffer.from(hex, 'hex'))
    return doc.getXmlFragment('content').toString()
  },
  async text ({ name }) { return ydoc.getText(name).toString() },
  // Resolves with the wall-clock time (ms, sub-ms precision) at which `text` first appeared.
  async waitText ({ text, timeoutMs = 10000 }) {
    const now = () => performance.timeOrigin + performance.now()
    const has = () => fragment().toString().includes(text)
    if (has()) return now()
    return await new Promise((resolve, reject) => {
      const check = () => {
        if (!has()) return
        fragment().unobserveDeep(check)
        clearTimeout(timer)
        resolve(now())
      }
      const timer = setTimeout(() => {
        fragment().unobserveDeep(check)
        reject(new Error(`timeout waiting for ${text}`))
      }, timeoutMs)
      fragment().observeDeep(check)
    })
  },
  async json () { return fragment().toJSON() },
  async stateVector () { return Buffer.from(Y.encodeStateVector(ydoc)).toString('hex') },
  async encodeState () { return Buffer.from(Y.encodeStateAsUpdate(ydoc)).toString('hex') },
  async applyHex ({ hex }) { Y.applyUpdate(ydoc, Buffer.from(hex, 'hex')); return null },
  async setAwareness ({ state }) { provider.awareness.setLocalState(state); return null },
  async awareness () {
    const states = {}
    provider.awareness.getStates().forEach((state, id) => {
      if (id !== ydoc.clientID) states[id] = state
    })
    return states
  },
  async awarenessCount () { return awarenessMessages },
  // Move a cursor `count` times, evenly over `durationMs` (e.g. 200 moves in one second).
  async cursorBurst ({ count, durationMs }) {
    for (let i = 1; i <= count; i++) {
      provider.awareness.setLocalStateField('cursor', { position: i })
      await new Promise((resolve) => setTimeout(resolve, durationMs / count))
    }
    return null
  },
  async status () {
    return { connected: provider.wsconnected, synced: provider.synced, closes, denied }
  },
  async waitSynced ({ timeoutMs = 10000 }) { await waitFor(() => provider.synced && provider.wsconnected, timeoutMs); return null },
  async disconnect () { provider.disconnect(); return null },
  async reconnect () { provider.connect(); return null },
  async rawSend ({ hex }) { provider.ws.send(Buffer.from(hex, 'hex')); return null },
  async exit () { setTimeout(() => process.exit(0), 5); return null }
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', async (line) => {
  let msg
  try { msg = JSON.parse(line) } catch { return }
  const fn = commands[msg.cmd]
  try {
    if (!fn) throw new Error(`unknown command ${msg.cmd}`)
    out({ id: msg.id, ok: true, result: await fn(msg.args ?? {}) })
  } catch (err) {
    out({ id: msg.id, ok: false, error: String(err?.stack ?? err) })
  }
})
rl.on('close', () => process.exit(0))
