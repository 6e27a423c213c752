// The collaborative rich-text editor: ProseMirror bound to the document's `content` fragment.
// Used by the editor page, the embed page and the <tandem-editor> widget.
import { dropCursor } from 'prosemirror-dropcursor'
import { gapCursor } from 'prosemirror-gapcursor'
import { EditorState } from 'prosemirror-state'
import { EditorView } from 'prosemirror-view'
import { yCursorPlugin, ySyncPlugin, ySyncPluginKey, yUndoPlugin } from 'y-prosemirror'
import { moveFocus } from '../ui/focus.js'
import { askForLink } from '../ui/linkdialog.js'
import { showShortcuts } from '../ui/shortcutsdialog.js'
import { accessEnded } from '../ui/status.js'
import { editingKeymaps, linkAt, markdownRules, setLink } from './commands.js'
import { commentsPlugin } from './comments.js'
import { cursorBuilder, selectionBuilder } from './cursors.js'
import { linkPopover } from './linkpopover.js'
import { schema } from './schema.js'
import { createToolbar } from './toolbar.js'
import { createUndoManager } from './undo.js'

/**
 * @param {object} opts
 * @param {HTMLElement} opts.mount where the editable document goes
 * @param {import('../lib/client.js').TandemClient} opts.client
 * @param {boolean} [opts.readonly]
 * @param {HTMLElement} [opts.toolbarMount] where the toolbar goes (none when omitted or readonly)
 * @param {HTMLElement} [opts.dialogHost] where dialogs are attached (default: document.body)
 * @param {string} [opts.label] accessible name of the document
 * @param {object} [opts.comments] comment threads: `canComment` (the role may comment: a Comment
 *   button, also for a read-only body), `comment()` starts one on the selection, `onClick(ids)`
 *   is told of a click in highlighted text (the ids of the threads there, innermost first)
 */
export function createEditor ({ mount, client, readonly = false, toolbarMount = null, dialogHost = null, label = 'Document', comments = null }) {
  let view = null
  let toolbar = null
  // Read-only from the start (a viewer), or from when the session ends for good (no access,
  // the document deleted): then no edit is taken that could never reach the server.
  let locked = readonly

  function openLink () {
    if (!view || readonly) return
    // Give up the focus first: a modal dialog hands it back to the element that had it, and a
    // contenteditable that gets the focus that way puts the browser's caret at its start.
    // view.focus() below restores the editor's own selection instead.
    view.dom.blur()
    askForLink(dialogHost || document.body, linkAt(view.state).href, (answer) => {
      // The editor's selection is still the user's here (mapped through any remote change).
      const range = linkAt(view.state)
      if (answer && (answer.href || range.href)) setLink(range, answer.href)(view.state, view.dispatch)
      view.focus()
    })
  }

  // The dialogs give the focus back to what had it: the editor (its own selection, see above)
  // or the toolbar's button.
  function openHelp () {
    if (!view) return
    const root = view.dom.getRootNode()
    const opener = root.activeElement
    const inEditor = !opener || opener === view.dom || view.dom.contains(opener)
    if (inEditor) view.dom.blur()
    showShortcuts(dialogHost || document.body, () => (inEditor ? view.focus() : opener.focus()))
  }

  // Tab and Shift-Tab outside lists leave the document for the next or previous control.
  const leave = (dir, editorView) => moveFocus(editorView.dom, dir)

  const plugins = [
    ySyncPlugin(client.fragment),
    yCursorPlugin(client.awareness, { cursorBuilder, selectionBuilder }),
    linkPopover({ readonly: () => locked, editLink: openLink }),
    commentsPlugin({ fragment: client.fragment, onClick: (ids, event) => comments?.onClick?.(ids, event) })
  ]
  const undo = readonly ? null : createUndoManager(client.fragment)
  if (!readonly) {
    // Undo and redo touch only this user's own changes (the undo manager tracks local origins).
    plugins.push(yUndoPlugin({ undoManager: undo.manager }), markdownRules(), ...editingKeymaps({ openLink, openHelp, leave }), dropCursor(), gapCursor())
  }

  view = new EditorView(mount, {
    state: EditorState.create({ schema, plugins }),
    editable: () => !locked,
    attributes: {
      class: 'tandem-doc',
      role: 'textbox',
      'aria-multiline': 'true',
      'aria-label': label,
      'aria-readonly': String(readonly),
      spellcheck: 'true'
    },
    // A read-only editor takes remote changes only, never a local edit (paste, drop, IME…).
    filterTransaction: (tr) => !locked || !tr.docChanged || tr.getMeta(ySyncPluginKey) !== undefined,
    // `this` is the view: y-prosemirror dispatches while the view is still being constructed.
    dispatchTransaction (tr) {
      const state = this.state.apply(tr)
      this.updateState(state)
      toolbar?.update(state)
      comments?.onUpdate?.(this, tr)
    }
  })

  const comment = comments?.canComment ? () => comments.comment() : null
  if (toolbarMount && (!readonly || comment)) {
    toolbar = createToolbar(view, { openLink, openHelp, comment, commentOnly: readonly })
    toolbarMount.append(toolbar.el)
  }

  let ended = false
  function lock () {
    if (ended) return
    ended = locked = true
    view.dom.blur()
    view.setProps({ attributes: { ...view.props.attributes, 'aria-readonly': 'true' } })
    if (toolbar) toolbar.el.hidden = true
  }
  // "This document is empty." only once the server said so: not while it is unknown.
  const onState = () => {
    if (client.state === 'connected') mount.dataset.synced = 'true'
    if (accessEnded(client)) lock()
  }
  const offState = client.on('state', onState)
  onState()

  return {
    view,
    toolbar,
    lock,
    focus: () => view.focus(),
    destroy () {
      offState()
      undo?.detach()
      toolbar?.el.remove()
      view.destroy()
    }
  }
}
