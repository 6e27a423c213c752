// Real Yjs and y-prosemirror for tests/crdt/test_comment_anchors.py: one JSON command on stdin, one
// JSON answer on stdout.
//   {"op": "hash", "ids": [...]}  -> y-prosemirror's attribute keys of comment marks
//   {"op": "doc", "paragraphs": [...], "ranges": [[p, from, to], ...]}
//        -> a body of paragraphs (one Y.XmlText each), its state, and per range the relative
//           positions y-prosemirror makes for that selection (from/to: offsets in paragraph p,
//           or [p2, offset] for a range ending in another paragraph)
//   {"op": "deltas", "updates": [b64, ...]} -> each paragraph's Y.XmlText delta
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
const require = createRequire(new URL('../../client_js/package.json', import.meta.url))
const Y = await import(require.resolve('yjs'))
const { hashOfJSON } = await import(new URL('../../client_js/node_modules/y-prosemirror/src/utils.js', import.meta.url))

const command = JSON.parse(readFileSync(0, 'utf8'))
const b64 = (bytes) => Buffer.from(bytes).toString('base64')
const out = {}
if (command.op === 'hash') {
  out.keys = command.ids.map((id) => `comment--${hashOfJSON({ type: 'comment', attrs: { id } })}`)
} else if (command.op === 'doc') {
  const doc = new Y.Doc()
  const fragment = doc.getXmlFragment('content')
  const texts = command.paragraphs.map((text) => {
    const paragraph = new Y.XmlElement('paragraph')
    const ytext = new Y.XmlText()
    paragraph.insert(0, [ytext])
    fragment.push([paragraph])
    ytext.insert(0, text)
    return ytext
  })
  // y-prosemirror's absolutePositionToRelativePosition for a position inside a text
  const rel = (p, offset) => b64(Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(texts[p], offset, 0)))
  out.state = b64(Y.encodeStateAsUpdate(doc))
  out.ranges = command.ranges.map(([p, from, to]) => {
    const [p2, end] = Array.isArray(to) ? to : [p, to]
    return { from: rel(p, from), to: rel(p2, end) }
  })
  out.between = b64(Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(fragment, 1)))
} else if (command.op === 'deltas') {
  const doc = new Y.Doc()
  for (const update of command.updates) Y.applyUpdate(doc, Buffer.from(update, 'base64'))
  out.deltas = doc.getXmlFragment('content').toArray().map((p) => p.toArray()[0]?.toDelta() ?? [])
}
process.stdout.write(JSON.stringify(out))
