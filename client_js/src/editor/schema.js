// The document schema. Node and mark names are the contract of the stored body (README,
// crdt/render.py): paragraph, heading(level), bullet_list, ordered_list, list_item, blockquote,
// code_block(language), horizontal_rule, hard_break; marks strong, em, code, link(href), strike,
// and comment(id): the anchor of a comment thread, which only the server places and removes.
import { Schema } from 'prosemirror-model'
import { nodes as basicNodes, marks as basicMarks } from 'prosemirror-schema-basic'
import { addListNodes } from 'prosemirror-schema-list'

const SAFE_HREF = /^(https?:|mailto:|\/|#)/i

/** A link target that is safe to follow, or null: http(s), mailto, relative; "x.org" -> https. */
export function safeHref (raw) {
  const href = String(raw || '').trim()
  if (!href) return null
  if (SAFE_HREF.test(href)) return href
  if (/^[a-z][a-z0-9+.-]*:/i.test(href)) return null // javascript:, data:, …
  return 'https://' + href
}

const { image, ...blockNodes } = basicNodes // images are not part of the document body

// A code block keeps its `language` (set by Markdown fences through the content API): without
// the attribute in the schema, y-prosemirror would drop it from the stored block on the first edit.
const LANGUAGE = /^[^\s`]{1,64}$/
const codeBlock = {
  ...basicNodes.code_block,
  attrs: { language: { default: null } },
  parseDOM: [
    {
      tag: 'pre',
      preserveWhitespace: 'full',
      getAttrs: (dom) => {
        const language = dom.getAttribute('data-language') || ''
        return { language: LANGUAGE.test(language) ? language : null }
      }
    }
  ],
  toDOM (node) {
    const language = typeof node.attrs.language === 'string' && LANGUAGE.test(node.attrs.language)
    return ['pre', language ? { 'data-language': node.attrs.language } : {}, ['code', 0]]
  }
}

const strike = {
  parseDOM: [
    { tag: 's' },
    { tag: 'del' },
    { tag: 'strike' },
    { style: 'text-decoration', getAttrs: (value) => (/line-through/.test(value) ? null : false) }
  ],
  toDOM () {
    return ['s', 0]
  }
}

const link = {
  attrs: { href: { validate: 'string' } },
  inclusive: false,
  parseDOM: [
    {
      tag: 'a[href]',
      getAttrs: (dom) => {
        const href = safeHref(dom.getAttribute('href'))
        return href ? { href } : false
      }
    }
  ],
  toDOM (mark) {
    const href = safeHref(mark.attrs.href) || '#'
    return ['a', { href, rel: 'noopener noreferrer nofollow', target: '_blank' }, 0]
  }
}

// A comment thread's anchor, placed only by the server (POST /api/docs/{doc}/comments). It must
// be in the schema: y-prosemirror deletes text whose marks the schema does not know. Threads
// may overlap (it excludes nothing, so y-prosemirror stores it as `comment--<hash>`), typing
// at its edge does not extend it (not inclusive), and no parse rule: pasted HTML never brings
// one along (and the editor strips it from its own slices, editor/comments.js). Outermost, so
// its span wraps links and code.
const comment = {
  attrs: { id: { validate: 'string' } },
  excludes: '',
  inclusive: false,
  toDOM (mark) {
    return ['span', { class: 'tandem-comment', 'data-comment': mark.attrs.id }, 0]
  }
}

export const schema = new Schema({
  nodes: addListNodes(
    new Schema({ nodes: { ...blockNodes, code_block: codeBlock } }).spec.nodes,
    'paragraph block*',
    'block'
  ),
  marks: {
    comment, // first: outermost, so its span wraps links and code
    link,
    em: basicMarks.em,
    strong: basicMarks.strong,
    code: basicMarks.code,
    strike
  }
})
