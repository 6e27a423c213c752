// Undo steps for one person: the Yjs UndoManager that y-prosemirror's undo plugin uses, built
// here so that its steps are what people expect of a shared document.
//
// - A step is what one typed without a pause of CAPTURE_MS (as ProseMirror's own history).
// - A co-author's change ends the step being typed: undo never takes back, in one go, what one
//   typed before and after someone else's change (their change stays as it is either way: the
//   manager tracks only this editor's own transactions).
// - Undoing the last block of the document away keeps that block (emptied). Otherwise the
//   editor would put an empty paragraph back into the document as a new change of its own,
//   and a new change clears the redo stack: redo would have nothing to bring back.
import { defaultDeleteFilter, defaultProtectedNodes, ySyncPluginKey } from 'y-prosemirror'
import { UndoManager } from 'yjs'

export const CAPTURE_MS = 500

/**
 * @param {import('yjs').XmlFragment} fragment the document body
 * @returns {{manager: UndoManager, detach: () => void}} detach stops listening to the document
 */
export function createUndoManager (fragment) {
  const manager = new UndoManager(fragment, {
    captureTimeout: CAPTURE_MS,
    trackedOrigins: new Set([ySyncPluginKey]), // changes made in this editor
    captureTransaction: (tr) => tr.meta.get('addToHistory') !== false,
    deleteFilter: (item) => {
      if (item.parent === fragment && !item.deleted && fragment.length === 1) return false
      return defaultDeleteFilter(item, defaultProtectedNodes)
    }
  })
  const onTransaction = (tr) => {
    if (manager.trackedOrigins.has(tr.origin)) return
    if (tr.changedParentTypes.has(fragment)) manager.stopCapturing()
  }
  fragment.doc.on('afterTransaction', onTransaction)
  return { manager, detach: () => fragment.doc.off('afterTransaction', onTransaction) }
}
