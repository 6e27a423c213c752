// Editing commands, keyboard shortcuts and markdown-style input rules.
import {
  baseKeymap, chainCommands, exitCode, joinDown, joinUp, lift, selectParentNode, setBlockType,
  toggleMark, wrapIn
} from 'prosemirror-commands'
import { inputRules, textblockTypeInputRule, wrappingInputRule } from 'prosemirror-inputrules'
import { keymap } from 'prosemirror-keymap'
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
  const keys = [...parts.map((p) => names[p] || p), last.length === 1 ? last.toUpperCase() : last]
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

/** Set (href) or remove (null) the link on a range. */
export function setLink (range, href) {
  return (state, dispatch) => {
    const { from, to } = range
    let tr = state.tr.removeMark(from, to, marks.link)
    if (href) {
      if (from === to) {
        tr = tr.insert(from, schema.text(href, [marks.link.create({ href })]))
      } else {
        tr = tr.addMark(from, to, marks.link.create({ href }))
      }
    }
    if (dispatch) dispatch(tr.scrollIntoView())
    return true
  }
}

/** The editing keymap. `openLink` is called for Mod-k (the UI asks for the URL). */
export function editingKeymaps ({ openLink }) {
  const hardBreak = chainCommands(exitCode, (state, dispatch) => {
    if (dispatch) dispatch(state.tr.replaceSelectionWith(nodes.hard_break.create()).scrollIntoView())
    return true
  })
  const keys = {
    'Mod-z': undo,
    'Shift-Mod-z': redo,
    'Mod-b': toggleMark(marks.strong),
    'Mod-i': toggleMark(marks.em),
    'Mod-e': toggleMark(marks.code),
    'Mod-`': toggleMark(marks.code),
    'Shift-Mod-s': toggleMark(marks.strike),
    'Shift-Mod-x': toggleMark(marks.strike),
    'Mod-k': () => {
      openLink()
      return true
    },
    'Alt-ArrowUp': joinUp,
    'Alt-ArrowDown': joinDown,
    'Escape': selectParentNode,
    'Mod-Enter': hardBreak,
    'Shift-Enter': hardBreak,
    'Enter': splitListItem(nodes.list_item),
    'Mod-[': liftListItem(nodes.list_item),
    'Mod-]': sinkListItem(nodes.list_item),
    'Tab': sinkListItem(nodes.list_item),
    'Shift-Tab': liftListItem(nodes.list_item),
    'Shift-Ctrl-7': toggleList(nodes.ordered_list),
    'Shift-Ctrl-8': toggleList(nodes.bullet_list),
    'Shift-Ctrl-9': toggleList(nodes.ordered_list),
    'Ctrl->': toggleBlockquote,
    'Shift-Ctrl-0': setBlock('paragraph'),
    'Mod-Alt-0': setBlock('paragraph'),
    'Shift-Ctrl-\\': setBlock('code_block'),
    'Mod-Alt-c': setBlock('code_block'),
    'Mod-_': insertRule
  }
  for (const level of [1, 2, 3]) {
    keys[`Shift-Ctrl-${level}`] = setBlock('h' + level)
    keys[`Mod-Alt-${level}`] = setBlock('h' + level)
  }
  if (!mac) keys['Mod-y'] = redo
  return [keymap(keys), keymap(baseKeymap)]
}

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
