// "Keyboard shortcuts" (Ctrl/⌘+/ or the toolbar's button): every key binding of the editor, read
// from the keymap's own table (editor/commands.js), and the markdown shortcuts. A modal <dialog>:
// the focus stays inside, Escape or Close shuts it, and `done` gives the focus back.
import { MARKDOWN_SHORTCUTS, keyBindings, shortcutLabel } from '../editor/commands.js'
import { COMMENT_SHORTCUT } from '../editor/comments.js'
import { h } from './dom.js'

const keysOf = (names) => names.flatMap((name, i) => [i ? h('span', { class: 'tandem-keys-or' }, ' or ') : null,
  h('kbd', {}, shortcutLabel(name))])

export function showShortcuts (host, done) {
  const groups = new Map()
  for (const { group, label, keys } of keyBindings()) {
    if (!groups.has(group)) groups.set(group, [])
    groups.get(group).push([label, keysOf(keys)])
  }
  groups.get('Editing').push(['Close a link’s popover', [h('kbd', {}, 'Esc')]])
  // Outside the keymap (ui/comments.js owns it: it works in a read-only body too).
  groups.get('Editing').push(['Comment on the selection', keysOf([COMMENT_SHORTCUT])])
  groups.set('Typed at the start of a line', MARKDOWN_SHORTCUTS.map(([typed, label]) => [label,
    [h('kbd', {}, typed.trim()), typed.endsWith(' ') ? h('span', { class: 'tandem-keys-or' }, ' then Space') : null]]))
  const sections = [...groups].map(([group, rows]) => h('section', { class: 'tandem-shortcuts-group' },
    h('h3', {}, group),
    h('table', {}, h('tbody', {}, rows.map(([label, keys]) => h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, keys)))))))
  const close = h('button', { type: 'submit', class: 'tandem-button is-primary' }, 'Close')
  const dialog = h('dialog', { class: 'tandem-dialog tandem-shortcuts', 'aria-labelledby': 'tandem-shortcuts-title' },
    h('form', { method: 'dialog', class: 'tandem-dialog-form' },
      h('h2', { class: 'tandem-dialog-title', id: 'tandem-shortcuts-title' }, 'Keyboard shortcuts'),
      // Scrolls on a small screen: a tab stop, so the arrow keys scroll it.
      h('div', { class: 'tandem-shortcuts-body', tabindex: '0', role: 'region', 'aria-label': 'Shortcuts' }, sections),
      h('div', { class: 'tandem-dialog-actions' }, h('span', { class: 'tandem-spacer' }), close)))
  // Tab goes round inside the dialog (the browser would let it out to its own controls).
  dialog.addEventListener('keydown', (event) => {
    if (event.key !== 'Tab') return
    const stops = [...dialog.querySelectorAll('[tabindex="0"], button')]
    const at = stops.indexOf(event.target)
    event.preventDefault()
    stops[(at + (event.shiftKey ? -1 : 1) + stops.length) % stops.length].focus()
  })
  dialog.addEventListener('close', () => {
    dialog.remove()
    done()
  })
  host.append(dialog)
  dialog.showModal()
  close.focus()
}
