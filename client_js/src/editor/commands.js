// Editing commands, keyboard shortcuts and markdown-style input rules.
import {
  baseKeymap, chainCommands, exitCode, joinDown, joinUp, lift, selectAll, setBlockType, toggleMark, wrapIn
} from 'prosemirror-commands'
import { inputRules, textblockTypeInputRule, wrappingInputRule } from 'prosemirror-inputrules'
import { keymap } from 'prosemirror-keymap'
import { TextSelection } from 'prosemirror-state'
import { liftListItem, sinkListItem, splitListItem, wrapInList } from 'prosemirror-schema-list'
import { redo, undo } from 'y-prosemirror'
import { schema } from './schema.js'

const { nodes, marks } = schema
const mac = typeof navigator !== 'undefined' && /Mac|iP(hone|[oa]d)/.test(navigator.platform)

/** How a shortcut reads on this platform: "Mod-Shift-z" -> "Ctrl+Shift+Z" or "⌘⇧Z". */
export function shortcutLabel (key) {
  const parts = key.split('-')
  const last = parts.pop()
  const names = mac
    ? { Mod: '⌘', Shift: '⇧', Alt: '⌥', Ctrl: '⌃' }
    : { Mod: 'Ctrl', Shift: 'Shift', Alt: 'Alt', Ctrl: 'Ctrl' }
  const named = { ArrowUp: '↑', ArrowDown: '↓', ArrowLeft: '←', ArrowRight: '→' }
  const keys = [...parts.map((p) => names[p] || p), named[last] || (last.length === 1 ? last.toUpperCase() : last)]
  return keys.join(mac ? '' : '+')
}

export function markActive (state, type) {
  const { from, $from, to, empty } = state.selection
  if (empty) return !!type.isInSet(state.storedMarks || $from.marks())
  return state.doc.rangeHasMark(from, to, type)
}

/** The block type at the cursor: 'paragraph', 'h1'…'h3', 'code_block' or '' when mixed. */
export function blockTypeAt (state) {
  const { $from, $to } = state.selection
  const node = $from.parent
  if (!$from.sameParent($to) && $from.parent !== $to.parent) return ''
  if (node.type === nodes.heading) return 'h' + node.attrs.level
  return node.type.name
}

export function setBlock (kind) {
  if (kind === 'paragraph') return setBlockType(nodes.paragraph)
  if (kind === 'code_block') return setBlockType(nodes.code_block)
  const level = Number(kind.slice(1))
  return setBlockType(nodes.heading, { level })
}

/** Is the selection inside a node of this type (e.g. a bullet list)? */
export function inside (state, type) {
  const { $from } = state.selection
  for (let d = $from.depth; d > 0; d--) if ($from.node(d).type === type) return true
  return false
}

export function toggleList (type) {
  return (state, dispatch, view) => {
    if (inside(state, type)) return liftListItem(nodes.list_item)(state, dispatch, view)
    return wrapInList(type)(state, dispatch, view)
  }
}

export function toggleBlockquote (state, dispatch, view) {
  if (inside(state, nodes.blockquote)) return lift(state, dispatch, view)
  return wrapIn(nodes.blockquote)(state, dispatch, view)
}

export function insertRule (state, dispatch) {
  if (dispatch) dispatch(state.tr.replaceSelectionWith(nodes.horizontal_rule.create()).scrollIntoView())
  return true
}

/** The link range to edit: the selection, or the linked text around the cursor; href or null. */
export function linkAt (state) {
  const { $from, from, to, empty } = state.selection
  const type = marks.link
  if (!empty) {
    let href = null
    state.doc.nodesBetween(from, to, (node) => {
      const mark = type.isInSet(node.marks)
      if (mark && href === null) href = mark.attrs.href
    })
    return { from, to, href }
  }
  const start = $from.start()
  let range = { from, to, href: null }
  $from.parent.forEach((child, offset) => {
    const mark = type.isInSet(child.marks)
    if (mark && offset <= $from.parentOffset && $from.parentOffset <= offset + child.nodeSize) {
      range = { from: start + offset, to: start + offset + child.nodeSize, href: mark.attrs.href }
    }
  })
  return range
}

/**
 * Set (href) or remove (null) the link on a range. On an empty range the address itself goes in
 * as the linked text, a space before it when it would otherwise stick to the previous word.
 */
export function setLink (range, href) {
  return (state, dispatch) => {
    const { from, to } = range
    let tr = state.tr.removeMark(from, to, marks.link)
    if (href) {
      if (from === to) {
        const $at = state.doc.resolve(from)
        const before = $at.parentOffset > 0 ? state.doc.textBetween(from - 1, from, '\n', '\n') : ' '
        const gap = /\s/.test(before) ? '' : ' '
        const linked = schema.text(href, [marks.link.create({ href })])
        tr = tr.insert(from, gap ? [schema.text(gap, $at.marks()), linked] : linked)
      } else {
        tr = tr.addMark(from, to, marks.link.create({ href }))
      }
    }
    if (dispatch) dispatch(tr.scrollIntoView())
    return true
  }
}

/** In a code block whose last line is empty, with the caret there: leave it for a new paragraph. */
export function exitCodeBlockAtEnd (state, dispatch) {
  const { $head, empty } = state.selection
  const block = $head.parent
  if (!empty || block.type !== nodes.code_block || $head.parentOffset !== block.content.size) return false
  if (!block.textContent.endsWith('\n')) return false
  if (dispatch) {
    const after = $head.after()
    const tr = state.tr.delete($head.pos - 1, $head.pos) // the empty line
    const at = tr.mapping.map(after)
    tr.insert(at, nodes.paragraph.create())
    dispatch(tr.setSelection(TextSelection.create(tr.doc, at + 1)).scrollIntoView())
  }
  return true
}

/**
 * Every key binding of the editor, grouped and named for the shortcut help. `actions` are the
 * editor's own: openLink (Mod-k), openHelp (Mod-/), leave(dir) (Tab and Shift-Tab out of the
 * document); the help dialog reads the same table with no actions.
 */
export function keyBindings ({ openLink, openHelp, leave } = {}) {
  const hardBreak = chainCommands(exitCode, (state, dispatch) => {
    if (dispatch) dispatch(state.tr.replaceSelectionWith(nodes.hard_break.create()).scrollIntoView())
    return true
  })
  const call = (fn, ...args) => () => {
    if (fn) fn(...args)
    return !!fn
  }
  const leaving = (dir) => (state, dispatch, view) => (leave ? leave(dir, view) : false)
  const headings = [1, 2, 3].map((level) => ({
    group: 'Blocks', label: `Heading ${level}`, keys: [`Mod-Alt-${level}`, `Shift-Ctrl-${level}`], run: setBlock('h' + level)
  }))
  return [
    { group: 'Text', label: 'Bold', keys: ['Mod-b'], run: toggleMark(marks.strong) },
    { group: 'Text', label: 'Italic', keys: ['Mod-i'], run: toggleMark(marks.em) },
    { group: 'Text', label: 'Strikethrough', keys: ['Shift-Mod-s', 'Shift-Mod-x'], run: toggleMark(marks.strike) },
    { group: 'Text', label: 'Inline code', keys: ['Mod-e', 'Mod-`'], run: toggleMark(marks.code) },
    { group: 'Text', label: 'Add or edit a link', keys: ['Mod-k'], run: call(openLink) },
    { group: 'Text', label: 'Line break (in a code block: leave it)', keys: ['Shift-Enter', 'Mod-Enter'], run: hardBreak },
    { group: 'Blocks', label: 'Text', keys: ['Mod-Alt-0', 'Shift-Ctrl-0'], run: setBlock('paragraph') },
    ...headings,
    { group: 'Blocks', label: 'Code block', keys: ['Mod-Alt-c', 'Shift-Ctrl-\\'], run: setBlock('code_block') },
    { group: 'Blocks', label: 'Leave a code block (on its empty last line)', keys: ['Enter'], run: chainCommands(exitCodeBlockAtEnd, splitListItem(nodes.list_item)) },
    { group: 'Lists', label: 'Bulleted list', keys: ['Shift-Ctrl-8'], run: toggleList(nodes.bullet_list) },
    { group: 'Lists', label: 'Numbered list', keys: ['Shift-Ctrl-9', 'Shift-Ctrl-7'], run: toggleList(nodes.ordered_list) },
    { group: 'Lists', label: 'Indent a list item, else the next control', keys: ['Tab'], run: chainCommands(sinkListItem(nodes.list_item), leaving(1)) },
    { group: 'Lists', label: 'Outdent a list item, else the previous control', keys: ['Shift-Tab'], run: chainCommands(liftListItem(nodes.list_item), leaving(-1)) },
    { group: 'Lists', label: 'Indent a list item', keys: ['Mod-]'], run: sinkListItem(nodes.list_item) },
    { group: 'Lists', label: 'Outdent a list item', keys: ['Mod-['], run: liftListItem(nodes.list_item) },
    { group: 'Blocks', label: 'Quote', keys: ['Ctrl->'], run: toggleBlockquote },
    { group: 'Blocks', label: 'Divider', keys: ['Mod-_'], run: insertRule },
    { group: 'Blocks', label: 'Join with the block above', keys: ['Alt-ArrowUp'], run: joinUp },
    { group: 'Blocks', label: 'Join with the block below', keys: ['Alt-ArrowDown'], run: joinDown },
    { group: 'Editing', label: 'Undo', keys: ['Mod-z'], run: undo },
    { group: 'Editing', label: 'Redo', keys: mac ? ['Shift-Mod-z'] : ['Shift-Mod-z', 'Mod-y'], run: redo },
    { group: 'Editing', label: 'Select all', keys: ['Mod-a'], run: selectAll },
    { group: 'Editing', label: 'Keyboard shortcuts', keys: ['Mod-/'], run: call(openHelp) }
  ]
}

/** The editing keymaps: keyBindings (first) and ProseMirror's base keys (Enter, Backspace…). */
export function editingKeymaps (actions) {
  const keys = {}
  for (const { keys: names, run } of keyBindings(actions)) for (const name of names) keys[name] = run
  return [keymap(keys), keymap(baseKeymap)]
}

/** The markdown shortcuts markdownRules() understands, for the help. */
export const MARKDOWN_SHORTCUTS = [
  ['# ', 'Heading 1'], ['## ', 'Heading 2'], ['### ', 'Heading 3'], ['> ', 'Quote'],
  ['- ', 'Bulleted list'], ['1. ', 'Numbered list'], ['```', 'Code block']
]

/** Markdown-style shortcuts: "# ", "> ", "- ", "1. ", "```". */
export function markdownRules () {
  return inputRules({
    rules: [
      textblockTypeInputRule(/^(#{1,3})\s$/, nodes.heading, (match) => ({ level: match[1].length })),
      wrappingInputRule(/^\s*>\s$/, nodes.blockquote),
      wrappingInputRule(/^\s*([-+*])\s$/, nodes.bullet_list),
      wrappingInputRule(
        /^(\d+)\.\s$/,
        nodes.ordered_list,
        (match) => ({ order: +match[1] }),
        (match, node) => node.childCount + node.attrs.order === +match[1]
      ),
      textblockTypeInputRule(/^```$/, nodes.code_block)
    ]
  })
}
