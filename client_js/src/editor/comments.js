// The editor's side of comment threads: where their anchors are, the range a new comment is
// about to cover, and keeping the `comment` mark the server's alone.
//
// The server places a thread's mark over the range the comment was made on (one change that
// arrives by CRDT) and removes it when the thread is deleted; the editor never adds one: pasted
// and dropped content loses it, and no local transaction may add it.
import { Fragment, Slice } from 'prosemirror-model'
import { Plugin, PluginKey } from 'prosemirror-state'
import { Decoration, DecorationSet } from 'prosemirror-view'
import { absolutePositionToRelativePosition, relativePositionToAbsolutePosition, ySyncPluginKey } from 'y-prosemirror'
import * as Y from 'yjs'
import { toBase64 } from 'lib0/buffer'
import { schema } from './schema.js'

/** The comment shortcut, as the keymap names keys (toolbar title, shortcut help, the panel). */
export const COMMENT_SHORTCUT = 'Mod-Alt-m'

const type = schema.marks.comment
export const commentsKey = new PluginKey('tandem-comments')

function stripComments (fragment) {
  const children = []
  fragment.forEach((node) => {
    const content = stripComments(node.content)
    const marks = type.removeFromSet(node.marks)
    children.push(node.isText ? node.mark(marks) : node.copy(content).mark(marks))
  })
  return Fragment.fromArray(children)
}

/** Thread ids at the first position of their anchor, in document order: Map id -> pos. */
export function anchors (doc) {
  const found = new Map()
  doc.descendants((node, pos) => {
    if (!node.isText) return true
    for (const mark of node.marks) {
      if (mark.type === type && !found.has(mark.attrs.id)) found.set(mark.attrs.id, pos)
    }
    return false
  })
  return found
}

/** The ids of the threads whose anchor covers (or touches from inside) `pos`, innermost last. */
export function threadsAt (state, pos) {
  const $pos = state.doc.resolve(pos)
  const marks = [...($pos.nodeAfter?.marks || []), ...($pos.nodeBefore?.marks || [])]
  return [...new Set(marks.filter((m) => m.type === type).map((m) => m.attrs.id))]
}

function binding (state) {
  return ySyncPluginKey.getState(state)?.binding || null
}

/**
 * The selection as the API's anchor: {from, to} as base64 of Yjs relative positions (they keep
 * pointing at the same characters through concurrent edits), or null for an empty selection.
 */
export function selectionAnchor (view, fragment) {
  const { from, to, empty } = view.state.selection
  const b = binding(view.state)
  if (empty || !b) return null
  const encode = (pos) => toBase64(Y.encodeRelativePosition(absolutePositionToRelativePosition(pos, fragment, b.mapping)))
  return { from: encode(from), to: encode(to), rel: [from, to].map((p) => absolutePositionToRelativePosition(p, fragment, b.mapping)) }
}

/** Where the range a comment is being written about is now ([from, to]), or null. */
export function pendingRange (state, fragment) {
  const { pending } = commentsKey.getState(state) || {}
  const b = binding(state)
  if (!pending || !b || !fragment.doc) return null
  const [from, to] = pending.map((rel) => relativePositionToAbsolutePosition(fragment.doc, fragment, rel, b.mapping))
  return from === null || to === null || from >= to ? null : [from, to]
}

/** Show (or, with null, stop showing) the range a comment is being written about. */
export function setPending (view, rel) {
  view.dispatch(view.state.tr.setMeta(commentsKey, { pending: rel }))
}

/**
 * @param {object} opts
 * @param {import('yjs').XmlFragment} opts.fragment the document body
 * @param {(ids: string[], event: MouseEvent) => void} opts.onClick a click in highlighted text
 */
export function commentsPlugin ({ fragment, onClick }) {
  return new Plugin({
    key: commentsKey,
    state: {
      init: () => ({ pending: null }),
      apply (tr, value) {
        const meta = tr.getMeta(commentsKey)
        return meta ? { ...value, ...meta } : value
      }
    },
    // Nothing local adds a thread's anchor (the server does, by CRDT).
    filterTransaction (tr) {
      if (tr.getMeta(ySyncPluginKey) !== undefined) return true
      return !tr.steps.some((step) => step.mark?.type === type && step.toJSON().stepType === 'addMark')
    },
    props: {
      transformPasted: (slice) => new Slice(stripComments(slice.content), slice.openStart, slice.openEnd),
      decorations (state) {
        const range = pendingRange(state, fragment)
        return range && DecorationSet.create(state.doc, [Decoration.inline(...range, { class: 'tandem-comment-pending' })])
      },
      handleClick (view, pos, event) {
        const ids = []
        for (let el = event.target; el && el !== view.dom; el = el.parentElement) {
          if (el.dataset?.comment) ids.push(el.dataset.comment)
        }
        onClick(ids, event)
        return false // the caret goes where it was clicked, as usual
      }
    }
  })
}
