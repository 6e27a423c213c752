// Generates tests/crdt/yjs_fixtures.json from real Yjs so crdt/update.py is checked against
// the bytes browsers actually send, not against our own encoder.
//
//   mkdir -p /tmp/yjsfix && cd /tmp/yjsfix && npm init -y && npm i yjs@13
//   cd /tmp/yjsfix && node /work/main/tests/crdt/make_yjs_fixtures.mjs > /work/main/tests/crdt/yjs_fixtures.json
import { createRequire } from 'node:module'

const require = createRequire(process.cwd() + '/')
const Y = require('yjs')

const hex = (u8) => Buffer.from(u8).toString('hex')

// Per-client [first clock, end clock] straight from Yjs's own struct decoder.
const describe = (update) => {
  const { structs, ds } = Y.decodeUpdate(update)
  const clocks = {}
  let skips = false
  const kinds = new Set()
  for (const s of structs) {
    if (s.constructor.name === 'Skip') skips = true
    kinds.add(s.content ? s.content.constructor.name : s.constructor.name)
    const c = String(s.id.client)
    const end = s.id.clock + s.length
    if (!(c in clocks)) clocks[c] = [s.id.clock, end]
    else clocks[c] = [Math.min(clocks[c][0], s.id.clock), Math.max(clocks[c][1], end)]
  }
  let deleteRanges = 0
  for (const ranges of ds.clients.values()) deleteRanges += ranges.length
  const sv = Object.fromEntries(
    [...Y.decodeStateVector(Y.encodeStateVectorFromUpdate(update)).entries()].map(([k, v]) => [
      String(k),
      v,
    ]),
  )
  return {
    clocks,
    struct_count: structs.length,
    delete_count: deleteRanges,
    sv,
    has_skip: skips,
    kinds: [...kinds].sort(),
  }
}

const scenarios = []

// Records every update a doc emits, in order, as one scenario.
const record = (name, clientID, build, extra = {}) => {
  const doc = new Y.Doc({ gc: extra.gc ?? true })
  doc.clientID = clientID
  const updates = []
  doc.on('update', (u) => updates.push(u))
  build(doc)
  scenarios.push({
    name,
    updates: updates.map((u) => ({ hex: hex(u), ...describe(u) })),
    final_sv: Object.fromEntries([...Y.decodeStateVector(Y.encodeStateVector(doc)).entries()]),
    full: hex(Y.encodeStateAsUpdate(doc)),
    full_info: describe(Y.encodeStateAsUpdate(doc)),
    text: extra.text ? doc.getText(extra.text).toString() : null,
    pycrdt_rejects: extra.pycrdtRejects ?? false,
  })
  return { doc, updates }
}

record(
  'text_unicode',
  1,
  (doc) => {
    const t = doc.getText('t')
    t.insert(0, 'hello')
    t.insert(5, ' wörld 😀 ✓ 日本語')
    t.insert(0, '𝄞'.repeat(70)) // long, astral: UTF-16 length != code points != bytes
    t.delete(2, 4)
    t.insertEmbed(3, { image: 'x.png' })
    t.format(0, 5, { bold: true })
  },
  { text: null },
)

record(
  'text_plain',
  7,
  (doc) => {
    const t = doc.getText('t')
    t.insert(0, 'abc')
    t.insert(3, 'déf')
    t.delete(1, 2)
  },
  { text: 't' },
)

record('xml_prosemirror', 123456789, (doc) => {
  const frag = doc.getXmlFragment('content')
  const p = new Y.XmlElement('paragraph')
  const h = new Y.XmlElement('heading')
  h.setAttribute('level', 2)
  const ht = new Y.XmlText()
  h.insert(0, [ht])
  frag.insert(0, [h, p])
  ht.insert(0, 'Título ✨')
  const t = new Y.XmlText()
  p.insert(0, [t])
  t.insert(0, 'plain ')
  t.insert(6, 'bold', { strong: true })
  t.insert(10, ' link', { link: { href: 'https://example.com/ä' } })
  t.delete(0, 2)
  frag.delete(0, 1)
})

record('map_any', 2 ** 40 + 3, (doc) => {
  const m = doc.getMap('m')
  m.set('n', 42)
  m.set('neg', -123456)
  m.set('f32', 1.5)
  m.set('f64', 0.1)
  m.set('big', 2n ** 60n)
  m.set('t', true)
  m.set('f', false)
  m.set('nul', null)
  m.set('undef', undefined)
  m.set('s', 'ünïcödé 😀')
  m.set('obj', { a: [1, { b: [2, [3, [4, { c: 'd' }]]] }], e: new Uint8Array([1, 2, 3]) })
  m.set('bin', new Uint8Array([0, 255, 128]))
  const inner = new Y.Map()
  m.set('inner', inner)
  inner.set('x', 'y')
  const arr = new Y.Array()
  m.set('arr', arr)
  arr.push([1, 'two', null, [3, 4]])
  arr.delete(1, 1)
  m.set('sub', new Y.Doc({ guid: 'sub-guid' }))
  m.set('n', 43)
})

// Yjs can write an XmlHook; yrs cannot read one back (y-prosemirror never writes one).
record(
  'xml_hook',
  5,
  (doc) => {
    doc.getXmlFragment('content').insert(0, [new Y.XmlHook('hooky')])
  },
  { pycrdtRejects: true },
)

// Deleting a nested type makes its children GC structs in a gc'ed encoding.
record('gc', 99, (doc) => {
  const m = doc.getMap('m')
  const inner = new Y.Map()
  m.set('inner', inner)
  for (let i = 0; i < 5; i++) inner.set('k' + i, 'v' + i)
  const t = doc.getText('t')
  t.insert(0, 'abcdef')
  t.delete(1, 3)
  m.delete('inner')
})

// Several clients, merged with Y.mergeUpdates, including a gap that becomes a Skip struct.
{
  const a = new Y.Doc()
  a.clientID = 11
  const b = new Y.Doc()
  b.clientID = 22
  const ua = []
  const ub = []
  a.on('update', (u) => ua.push(u))
  b.on('update', (u) => ub.push(u))
  a.getText('t').insert(0, 'from a')
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a))
  b.getText('t').insert(0, 'from b ')
  a.getText('t').insert(6, ' again')
  b.getText('t').delete(0, 2)
  a.getText('t').insert(0, 'x')
  const merged = Y.mergeUpdates([...ua, ...ub])
  const gappy = Y.mergeUpdates([ua[0], ua[2]])
  const full = new Y.Doc()
  Y.applyUpdate(full, merged)
  scenarios.push({
    name: 'merged',
    updates: [merged].map((u) => ({ hex: hex(u), ...describe(u) })),
    final_sv: Object.fromEntries([...Y.decodeStateVector(Y.encodeStateVector(full)).entries()]),
    full: hex(Y.encodeStateAsUpdate(full)),
    full_info: describe(Y.encodeStateAsUpdate(full)),
    text: full.getText('t').toString(),
    pycrdt_rejects: false,
  })
  scenarios.push({
    name: 'merged_with_skip',
    updates: [gappy].map((u) => ({ hex: hex(u), ...describe(u) })),
    final_sv: null,
    full: null,
    full_info: null,
    text: null,
    pycrdt_rejects: false,
  })
}

process.stdout.write(JSON.stringify({ yjs: require('yjs/package.json').version, scenarios }, null, 1) + '\n')
