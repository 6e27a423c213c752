// Remote cursors and selections, labelled with each person's name. Built with the CSSOM (a
// custom property for the colour) rather than y-prosemirror's style attributes, which a strict
// Content-Security-Policy would block.
import { setColor } from '../ui/dom.js'

export function cursorBuilder (user) {
  const caret = document.createElement('span')
  caret.className = 'ProseMirror-yjs-cursor tandem-cursor'
  const label = document.createElement('span')
  label.className = 'tandem-cursor-label'
  label.textContent = user.name
  caret.append('\u2060', label, '\u2060')
  return setColor(caret, user.color)
}

export function selectionBuilder (user) {
  // Decoration attributes are applied with style.cssText (CSSOM), which CSP allows.
  return { class: 'ProseMirror-yjs-selection tandem-selection', style: `--user-color: ${user.color}` }
}
