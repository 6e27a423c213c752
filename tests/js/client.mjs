// A stock Yjs client (yjs + y-websocket's WebsocketProvider) driven over stdin/stdout, one JSON
// object per line, so Python tests can run real Yjs peers. Replies: {"id", "ok", "result"|"error"}.
import readline from 'node:readline'
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

const waitFor = (pred, timeoutMs = 10000) => new Promise((resolve, reject) => {
  const started = Date.now()
  const tick = () => {
    if (pred()) return resolve(true)
    if (Date.now() - started > timeoutMs) return reject(new Error('timeout'))
    setTimeout(tick, 10)
  }
  tick()
})

const fragment = () => ydoc.getXmlFragment('content')

const paragraph = (text) => {
  const p = new Y.XmlElement('paragraph')
  p.insert(0, [new Y.XmlText(text)])
  return p
}

const commands = {
  async connect ({ url, doc, params = {}, clientId = null, awareness = null, waitSync = true }) {
    ydoc = new Y.Doc()
    if (clientId !== null) ydoc.clientID = clientId
    provider = new WebsocketProvider(url, doc, ydoc, {
      WebSocketPolyfill: WebSocket, params, disableBc: true, maxBackoffTime: 500
    })
    const handleAwareness = provider.messageHandlers[1]
    provider.messageHandlers[1] = (...args) => { awarenessMessages++; return handleAwareness(...args) }
    provider.on('connection-close', (ev) => { closes.push({ code: ev?.code ?? null, reason: ev?.reason ?? '' }) })
    provider.on('status', (ev) => out({ event: 'status', status: ev.status }))
    if (awareness) provider.awareness.setLocalState(awareness)
    if (waitSync) await waitFor(() => provider.synced)
    return { clientId: ydoc.clientID }
  },
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
