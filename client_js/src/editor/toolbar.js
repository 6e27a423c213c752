// The formatting toolbar: a block-type menu and buttons that reflect the selection
// (aria-pressed) and what can be done (disabled). A single tab stop; arrow keys move between
// controls (the WAI-ARIA toolbar pattern).
import { toggleMark } from 'prosemirror-commands'
import { redoCommand, undoCommand } from 'y-prosemirror'
import { h, icon } from '../ui/dom.js'
import {
  blockTypeAt, inside, insertRule, markActive, setBlock, shortcutLabel, toggleBlockquote, toggleList
} from './commands.js'
import { COMMENT_SHORTCUT } from './comments.js'
import { schema } from './schema.js'

const { marks, nodes } = schema

const BLOCKS = [
  ['paragraph', 'Text', 'Mod-Alt-0'],
  ['h1', 'Heading 1', 'Mod-Alt-1'],
  ['h2', 'Heading 2', 'Mod-Alt-2'],
  ['h3', 'Heading 3', 'Mod-Alt-3'],
  ['code_block', 'Code block', 'Mod-Alt-c']
]

/**
 * @param {import('prosemirror-view').EditorView} view
 * @param {object} opts
 * @param {() => void} opts.openLink asks for a link's address
 * @param {() => void} opts.openHelp shows the keyboard shortcuts
 * @param {(() => void)|null} [opts.comment] starts a comment on the selection (none: no button)
 * @param {boolean} [opts.commentOnly] only the Comment button (a commenter cannot edit the body)
 */
export function createToolbar (view, { openLink, openHelp, comment = null, commentOnly = false }) {
  const buttons = []
  const button = (name, label, key, run, { active, enabled, keepFocus = false } = {}) => {
    const title = key ? `${label} (${shortcutLabel(key)})` : label
    const el = h('button', {
      type: 'button', class: 'tandem-tool', title, 'aria-label': label, tabindex: '-1', dataset: { tool: name }
    }, icon(name))
    if (active) el.setAttribute('aria-pressed', 'false')
    // mousedown would move the focus out of the editor and lose the selection
    el.addEventListener('mousedown', (event) => event.preventDefault())
    el.addEventListener('click', () => {
      run(view.state, view.dispatch, view)
      if (!keepFocus) view.focus()
    })
    buttons.push({ el, active, enabled: enabled || ((state) => run(state, null, view) !== false) })
    return el
  }

  const select = h('select', { class: 'tandem-block-select', 'aria-label': 'Text style', tabindex: '0', title: 'Text style' },
    BLOCKS.map(([value, label, key]) => h('option', { value, title: shortcutLabel(key) }, label)),
    h('option', { value: '', disabled: true, hidden: true }, 'Mixed'))
  select.addEventListener('change', () => {
    if (select.value) setBlock(select.value)(view.state, view.dispatch, view)
    view.focus()
  })

  const sep = () => h('span', { class: 'tandem-tool-sep', role: 'separator', 'aria-orientation': 'vertical' })
  const mark = (type) => ({ active: (state) => markActive(state, type) })
  // A comment is about some text: the button waits for a selection.
  const commentButton = () => comment && button('comment', 'Comment', COMMENT_SHORTCUT, () => { comment(); return true },
    { enabled: (state) => !state.selection.empty, keepFocus: true }) // the composer takes it
  const el = commentOnly
    ? h('div', { class: 'tandem-toolbar', role: 'toolbar', 'aria-label': 'Commenting' }, commentButton())
    : h('div', { class: 'tandem-toolbar', role: 'toolbar', 'aria-label': 'Formatting' },
    h('span', { class: 'tandem-select-wrap' }, select), sep(),
    button('bold', 'Bold', 'Mod-b', toggleMark(marks.strong), mark(marks.strong)),
    button('italic', 'Italic', 'Mod-i', toggleMark(marks.em), mark(marks.em)),
    button('strike', 'Strikethrough', 'Shift-Mod-s', toggleMark(marks.strike), mark(marks.strike)),
    button('code', 'Inline code', 'Mod-e', toggleMark(marks.code), mark(marks.code)),
    button('link', 'Link', 'Mod-k', () => { openLink(); return true },
      { ...mark(marks.link), enabled: () => true }),
    sep(),
    button('bulletList', 'Bulleted list', 'Shift-Ctrl-8', toggleList(nodes.bullet_list),
      { active: (state) => inside(state, nodes.bullet_list) }),
    button('orderedList', 'Numbered list', 'Shift-Ctrl-9', toggleList(nodes.ordered_list),
      { active: (state) => inside(state, nodes.ordered_list) }),
    button('quote', 'Quote', 'Ctrl->', toggleBlockquote, { active: (state) => inside(state, nodes.blockquote) }),
    button('rule', 'Divider', 'Mod-_', insertRule),
    comment ? sep() : null,
    commentButton(),
    h('span', { class: 'tandem-spacer' }),
    button('undo', 'Undo', 'Mod-z', undoCommand, { enabled: (state) => !!undoCommand(state, null) }),
    button('redo', 'Redo', 'Shift-Mod-z', redoCommand, { enabled: (state) => !!redoCommand(state, null) }),
    sep(),
    button('keyboard', 'Keyboard shortcuts', 'Mod-/', () => { openHelp(); return true }, { enabled: () => true })
  )

  // Roving focus: Tab enters the toolbar once, arrows move inside it.
  const controls = () => [...(commentOnly ? [] : [select]), ...buttons.map((b) => b.el)].filter((c) => !c.disabled)
  el.addEventListener('keydown', (event) => {
    if (!['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(event.key)) return
    if (event.target === select && (event.key === 'ArrowUp' || event.key === 'ArrowDown')) return
    const list = controls()
    const at = list.indexOf(event.target)
    if (at < 0) return
    event.preventDefault()
    const next = event.key === 'Home' ? 0
      : event.key === 'End' ? list.length - 1
        : (at + (event.key === 'ArrowRight' ? 1 : -1) + list.length) % list.length
    for (const c of list) c.tabIndex = -1
    list[next].tabIndex = 0
    list[next].focus()
  })

  if (commentOnly) buttons[0].el.tabIndex = 0

  function update (state) {
    const block = blockTypeAt(state)
    select.value = BLOCKS.some(([value]) => value === block) ? block : ''
    for (const { el: b, active, enabled } of buttons) {
      if (active) b.setAttribute('aria-pressed', String(!!active(state)))
      b.disabled = !enabled(state)
    }
  }
  update(view.state)
  return { el, update }
}
