// Load generator: stock yjs + y-websocket clients under Node, one workload per run.
// Usage: node load.mjs WORKLOAD '{"urls": ["ws://127.0.0.1:PORT/ws", ...], ...options}'
// Prints one JSON object with the figures on the last line of stdout. With several URLs (hubs of
// one cluster) client i connects to urls[i % n], and the latency workloads report apart the
// receivers on the sender's hub and those on another hub.
import { performance } from 'node:perf_hooks'
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const waitFor = async (pred, timeoutMs, what) => {
  const started = performance.now()
  while (!pred()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timeout waiting for ${what}`)
    await sleep(5)
  }
  return performance.now() - started
}

const connect = (url, doc, opts = {}) => {
  const ydoc = new Y.Doc()
  const provider = new WebsocketProvider(url, doc, ydoc, {
    WebSocketPolyfill: WebSocket, disableBc: true, ...opts
  })
  return { ydoc, provider }
}

const quantile = (sorted, q) => sorted.length === 0 ? null
  : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]

const summary = (samples) => {
  const sorted = Float64Array.from(samples).sort()
  return {
    samples: sorted.length,
    p50_ms: quantile(sorted, 0.5),
    p99_ms: quantile(sorted, 0.99),
    max_ms: sorted.length ? sorted[sorted.length - 1] : null
  }
}

// The hub a client index connects to.
const hubOf = (urls, i) => i % urls.length

// Latency of the receivers on another hub than the sender's (only with several hubs).
const crossSummary = (urls, samples) => {
  if (urls.length < 2) return {}
  const { p50_ms: p50, p99_ms: p99 } = summary(samples)
  return { cross_hub_p50_ms: p50, cross_hub_p99_ms: p99 }
}

// Calls send(n) for n = 0 … total - 1 at `rate` per second (a late turn catches up at once);
// resolves with the milliseconds that took.
async function paced (total, rate, send) {
  const interval = 1000 / rate
  const start = performance.now()
  let sent = 0
  while (sent < total) {
    const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1)
    for (; sent < due; sent++) send(sent)
    await sleep(Math.max(0, start + sent * interval - performance.now()))
  }
  return performance.now() - start
}

// Each key another client sets in document `d`'s 'lat' map: how long it took to arrive here.
const recordLatencies = (ydoc, d, sentAt, latencies) => ydoc.getMap('lat').observe((event) => {
  if (event.transaction.local) return
  const now = performance.now()
  for (const key of event.keysChanged) latencies.push(now - sentAt.get(`${d}:${key}`))
})

const closeAll = (clients) => clients.forEach(({ provider, ydoc }) => { provider.destroy(); ydoc.destroy() })

// C clients in one document; R updates/s spread round-robin over the clients; each update sets a
// fresh key in a Y.Map and types one character; every receiver records its arrival latency.
async function fanout ({ urls, doc = 'fanout', clients = 16, rate = 160, seconds = 10, settleMs = 30000 }) {
  const peers = []
  for (let i = 0; i < clients; i++) peers.push(connect(urls[hubOf(urls, i)], doc))
  await waitFor(() => peers.every((p) => p.provider.synced), 60000, 'all clients synced')
  const sentAt = new Map()
  const latencies = []
  const crossHub = []
  peers.forEach(({ ydoc }, receiver) => {
    ydoc.getMap('lat').observe((event) => {
      if (event.transaction.local) return
      const now = performance.now()
      for (const key of event.keysChanged) {
        const t0 = sentAt.get(key)
        if (t0 === undefined) continue
        latencies.push(now - t0)
        if (hubOf(urls, Number(key) % clients) !== hubOf(urls, receiver)) crossHub.push(now - t0)
      }
    })
  })
  const total = Math.round(rate * seconds)
  const sendSeconds = await paced(total, rate, (sent) => {
    const { ydoc } = peers[sent % clients]
    const key = `${sent}`
    ydoc.transact(() => {
      sentAt.set(key, performance.now())
      ydoc.getMap('lat').set(key, sent)
      const text = ydoc.getText('text')
      text.insert(text.length, 'x')
    })
  }) / 1000
  const expected = total * (clients - 1)
  let converged = true
  try {
    await waitFor(() => latencies.length >= expected && peers.every((p) => p.ydoc.getMap('lat').size === total), settleMs, 'convergence')
  } catch { converged = false }
  const texts = new Set(peers.map((p) => p.ydoc.getText('text').toString()))
  closeAll(peers)
  return { workload: 'fanout', hubs: urls.length, clients, rate, seconds, sent: total, achieved_rate: total / sendSeconds, received: latencies.length, expected, converged: converged && texts.size === 1, ...summary(latencies), ...crossSummary(urls, crossHub) }
}

// D documents with two clients each; R updates/s spread over the documents.
// With several hubs the two clients of a document are on different hubs: every update crosses.
async function manydocs ({ urls, docs = 200, rate = 400, seconds = 10, settleMs = 30000 }) {
  const pairs = []
  for (let d = 0; d < docs; d++) pairs.push([connect(urls[0], `many-${d}`), connect(urls[hubOf(urls, 1)], `many-${d}`)])
  const all = pairs.flat()
  await waitFor(() => all.every((p) => p.provider.synced), 60000, 'all clients synced')
  const sentAt = new Map()
  const latencies = []
  pairs.forEach((pair, d) => pair.forEach(({ ydoc }) => recordLatencies(ydoc, d, sentAt, latencies)))
  const total = Math.round(rate * seconds)
  await paced(total, rate, (sent) => {
    const d = sent % docs
    const { ydoc } = pairs[d][(Math.floor(sent / docs)) % 2]
    sentAt.set(`${d}:${sent}`, performance.now())
    ydoc.getMap('lat').set(`${sent}`, sent)
  })
  let converged = true
  try { await waitFor(() => latencies.length >= total, settleMs, 'convergence') } catch { converged = false }
  closeAll(all)
  return { workload: 'manydocs', hubs: urls.length, docs, rate, seconds, sent: total, received: latencies.length, converged, ...summary(latencies) }
}

// D documents with E editors each, all through one URL (a load balancer), connecting in a
// shuffled order as people arrive; R updates/s spread over the editors; every receiver records
// its latency. Prints a "ready" line once all are synced, so the caller can see where each
// document's editors landed before the updates start.
async function editors ({ urls: [url], docs = 60, perDoc = 3, rate = 300, seconds = 10, settleMs = 30000, seed = 14 }) {
  let state = seed
  const random = () => { state = (state * 1103515245 + 12345) % 2147483648; return state / 2147483648 }
  const order = []
  for (let d = 0; d < docs; d++) for (let e = 0; e < perDoc; e++) order.push(d)
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]]
  }
  const byDoc = Array.from({ length: docs }, () => [])
  for (const d of order) {
    byDoc[d].push(connect(url, `editors-${d}`))
    await waitFor(() => byDoc[d].at(-1).provider.wsconnected, 30000, 'connected')
  }
  const all = byDoc.flat()
  await waitFor(() => all.every((p) => p.provider.synced), 60000, 'all editors synced')
  process.stdout.write(JSON.stringify({ ready: true }) + '\n')
  await sleep(500) // the caller looks at the hubs meanwhile
  const sentAt = new Map()
  const latencies = []
  byDoc.forEach((peers, d) => peers.forEach(({ ydoc }) => recordLatencies(ydoc, d, sentAt, latencies)))
  const total = Math.round(rate * seconds)
  await paced(total, rate, (sent) => {
    const d = sent % docs
    const { ydoc } = byDoc[d][Math.floor(sent / docs) % perDoc]
    sentAt.set(`${d}:${sent}`, performance.now())
    ydoc.getMap('lat').set(`${sent}`, sent)
  })
  const expected = total * (perDoc - 1)
  let converged = true
  try { await waitFor(() => latencies.length >= expected, settleMs, 'convergence') } catch { converged = false }
  closeAll(all)
  return { workload: 'editors', docs, perDoc, rate, seconds, sent: total, received: latencies.length, expected, converged, ...summary(latencies) }
}

// A writer builds a document of `ops` random-position single-character inserts; a fresh client
// then joins and we time its sync (the room is live on the server: the writer is still there).
async function latejoin ({ urls: [url], doc = 'latejoin', ops = 100000, batch = 100 }) {
  const writer = connect(url, doc)
  await waitFor(() => writer.provider.synced, 30000, 'writer synced')
  const text = writer.ydoc.getText('text')
  let seed = 42
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
  for (let i = 0; i < ops; i += batch) {
    writer.ydoc.transact(() => {
      for (let j = 0; j < batch; j++) text.insert(Math.floor(rand() * (text.length + 1)), String.fromCharCode(97 + (i + j) % 26))
    })
    if (i % 5000 === 0) await sleep(1)
  }
  const size = Y.encodeStateAsUpdate(writer.ydoc).length
  // Make sure the server has everything: a probe client must see the whole text.
  const probe = connect(url, doc)
  await waitFor(() => probe.provider.synced && probe.ydoc.getText('text').length === text.length, 120000, 'probe has the document')
  closeAll([probe])
  const t0 = performance.now()
  const late = connect(url, doc)
  await waitFor(() => late.provider.synced && late.ydoc.getText('text').length === text.length, 120000, 'late joiner synced')
  const joinMs = performance.now() - t0
  const equal = late.ydoc.getText('text').toString() === text.toString()
  closeAll([late, writer])
  return { workload: 'latejoin', ops, bytes: size, join_ms: joinMs, equal }
}

// N idle clients over D documents: time until all are synced; then they stay connected for
// `holdMs` so the orchestrator can read the server's memory. Prints a "ready" line when synced.
async function idle ({ urls: [url], connections = 1000, docs = 10, holdMs = 3000 }) {
  const t0 = performance.now()
  const peers = []
  for (let i = 0; i < connections; i++) {
    peers.push(connect(url, `idle-${i % docs}`))
    if (i % 100 === 99) await sleep(1)
  }
  await waitFor(() => peers.every((p) => p.provider.synced), 300000, 'all idle clients synced')
  const syncedMs = performance.now() - t0
  process.stdout.write(JSON.stringify({ ready: true, synced_ms: syncedMs }) + '\n')
  await sleep(holdMs)
  const stillConnected = peers.filter((p) => p.provider.wsconnected).length
  closeAll(peers)
  return { workload: 'idle', connections, docs, synced_ms: syncedMs, still_connected: stillConnected }
}

// The automerge-paper editing trace, one message per edit, from a writer to an observer; then a
// late joiner. Positions are code points; Y.Text counts UTF-16 units, which agree for this
// trace (checked at the end: the writer's text must equal endContent).
async function trace ({ urls: [url], doc = 'trace', file }) {
  const data = JSON.parse(gunzipSync(readFileSync(file)).toString())
  const writer = connect(url, doc)
  const observer = connect(url, doc)
  await waitFor(() => writer.provider.synced && observer.provider.synced, 30000, 'synced')
  const wtext = writer.ydoc.getText('text')
  if (data.startContent) wtext.insert(0, data.startContent)
  const end = data.endContent
  let edits = 0
  const t0 = performance.now()
  for (const txn of data.txns) {
    for (const [pos, del, ins] of txn.patches) {
      writer.ydoc.transact(() => {
        if (del > 0) wtext.delete(pos, del)
        if (ins) wtext.insert(pos, ins)
      })
      // Let the socket drain now and then, as a typist's event loop would.
      if (++edits % 1000 === 0) await sleep(0)
    }
  }
  const writeMs = performance.now() - t0
  const otext = observer.ydoc.getText('text')
  await waitFor(() => otext.length === end.length && otext.toString() === end, 600000, 'observer equal')
  const observerMs = performance.now() - t0
  const t1 = performance.now()
  const late = connect(url, doc)
  await waitFor(() => late.provider.synced && late.ydoc.getText('text').toString() === end, 120000, 'late joiner equal')
  const lateMs = performance.now() - t1
  closeAll([late, observer, writer])
  return { workload: 'trace', edits, write_ms: writeMs, observer_equal_ms: observerMs, late_join_ms: lateMs, writer_equal: wtext.toString() === end }
}

// A stock client builds a document of `megabytes` in y-prosemirror's shape (paragraphs of ~900
// characters, some bold, some deletions and small edits), one update per ~1 MB transaction.
// Then `joiners` raw clients join at once (each sends sync step 1 with an empty state vector and
// reads until its sync step 2: times from the common start), then `stockJoiners` stock clients
// join together and must equal the builder. Prints "ready" lines so the orchestrator can sample
// the server's memory during the storm.
async function largedoc ({ urls: [url], doc = 'large', megabytes = 20, joiners = 150, stockJoiners = 3, timeoutMs = 600000 }) {
  const builder = connect(url, doc)
  await waitFor(() => builder.provider.synced, 30000, 'builder synced')
  const frag = builder.ydoc.getXmlFragment('content')
  const words = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor'.split(' ')
  let size = 0
  let i = 0
  const t0 = performance.now()
  while (size < megabytes * 1e6) {
    builder.ydoc.transact(() => {
      for (let batch = 0; batch < 1e6; batch += 930, i++) {
        const text = new Y.XmlText()
        const p = new Y.XmlElement('paragraph')
        p.insert(0, [text])
        frag.push([p])
        let s = ''
        while (s.length < 900) s += words[(i * 7 + s.length) % words.length] + ' '
        text.insert(0, s)
        if (i % 5 === 0) text.format(10, 20, { strong: {} })
        if (i % 7 === 0) text.delete(100, 30)
        if (i % 11 === 0) text.insert(50, 'edit ')
      }
    })
    size += 1e6
    await waitFor(() => builder.provider.ws && builder.provider.ws.bufferedAmount === 0, 120000, 'upload drained')
  }
  const buildMs = performance.now() - t0
  const bytes = Y.encodeStateAsUpdate(builder.ydoc).length
  const expected = frag.toString()
  // The first joiner: a stock client, which also proves the server holds everything.
  const t1 = performance.now()
  const first = connect(url, doc)
  await waitFor(() => first.provider.synced && first.ydoc.getXmlFragment('content').length === frag.length, timeoutMs, 'first joiner synced')
  const firstJoinMs = performance.now() - t1
  const firstEqual = first.ydoc.getXmlFragment('content').toString() === expected
  closeAll([first])
  process.stdout.write(JSON.stringify({ ready: true, phase: 'storm' }) + '\n')
  // The storm: raw joiners, all at once.
  const step1 = Uint8Array.from([0, 0, 1, 0])
  const t2 = performance.now()
  const times = await Promise.all(Array.from({ length: joiners }, () => new Promise((resolve) => {
    const ws = new WebSocket(`${url}/${doc}`)
    ws.binaryType = 'arraybuffer'
    let received = 0
    ws.on('open', () => ws.send(step1))
    ws.on('message', (data) => {
      const bytesIn = new Uint8Array(data)
      received += bytesIn.length
      if (bytesIn[0] === 0 && bytesIn[1] === 1) { resolve({ ms: performance.now() - t2, received }); ws.close() }
    })
    ws.on('error', () => resolve({ ms: null, received }))
    ws.on('close', () => resolve({ ms: null, received }))
    setTimeout(() => { resolve({ ms: null, received }); ws.terminate() }, timeoutMs)
  })))
  const synced = times.filter((t) => t.ms !== null).map((t) => t.ms)
  const sorted = Float64Array.from(synced).sort()
  process.stdout.write(JSON.stringify({ ready: true, phase: 'stock' }) + '\n')
  // Stock joiners together: each must hold exactly the builder's document.
  const t3 = performance.now()
  const stock = Array.from({ length: stockJoiners }, () => connect(url, doc))
  let stockOk = true
  try {
    await waitFor(() => stock.every((c) => c.provider.synced && c.ydoc.getXmlFragment('content').length === frag.length), timeoutMs, 'stock joiners synced')
  } catch { stockOk = false }
  const stockMs = performance.now() - t3
  const stockEqual = stockOk && stock.every((c) => c.ydoc.getXmlFragment('content').toString() === expected)
  closeAll([...stock, builder])
  return {
    workload: 'largedoc', megabytes, bytes, build_ms: buildMs, first_join_ms: firstJoinMs, first_equal: firstEqual,
    joiners, joiners_synced: synced.length, storm_p50_ms: quantile(sorted, 0.5), storm_p95_ms: quantile(sorted, 0.95),
    storm_max_ms: sorted.length ? sorted[sorted.length - 1] : null, stock_joiners: stockJoiners, stock_ms: stockMs, stock_equal: stockEqual
  }
}

const workloads = { fanout, manydocs, editors, latejoin, idle, trace, largedoc }
const [name, json] = process.argv.slice(2)
const fn = workloads[name]
if (!fn) {
  console.error(`unknown workload ${name}; one of ${Object.keys(workloads).join(', ')}`)
  process.exit(2)
}
fn(JSON.parse(json ?? '{}')).then((result) => {
  process.stdout.write(JSON.stringify(result) + '\n')
  process.exit(0)
}, (err) => {
  console.error(err?.stack ?? String(err))
  process.exit(1)
})
