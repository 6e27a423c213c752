// Document titles on the pages: what a document is called (its title, else its id), saving a new
// one (PATCH /api/docs/{doc} {"title"}), and a title editable in place.
//
//   const field = createTitleField({ doc: 'notes', editable: true, onChange: (title) => …, onError })
//   header.append(field.el); field.set('Team notes')   // e.g. from a `title` notification
import { h } from './dom.js'
import { request } from './page.js'

/** The server's longest title (server/core/names.py MAX_TITLE). */
export const MAX_TITLE = 200

/** What to call a document: its title, or its id while it has none. */
export function shownTitle (title, doc) {
  return title || doc
}

/** The browser tab's title for a page about this document ("Plan — Tandem"). */
export function tabTitle (title, doc, prefix = '') {
  return `${prefix}${shownTitle(title, doc)} — Tandem`
}

/** The title as the server will keep it, near enough to compare: trimmed, single-spaced. */
export function tidyTitle (raw) {
  return String(raw || '').replace(/\s+/g, ' ').trim()
}

/** Set (or clear, with '' or null) a document's title; resolves to the metadata the server returns. */
export async function saveTitle (doc, title) {
  const response = await request(`/api/docs/${encodeURIComponent(doc)}`, {
    method: 'PATCH',
    body: JSON.stringify({ title: title || null })
  })
  return response.json()
}

/**
 * A document's title that those who may write edit in place: Enter or leaving the field saves,
 * Escape puts the title back. Readers get the same text, not editable.
 * @param {object} opts
 * @param {string} opts.doc the document id (shown while there is no title)
 * @param {string|null} [opts.title]
 * @param {boolean} opts.editable
 * @param {(title: string|null) => void} [opts.onChange] the title changed (saved here, or set)
 * @param {(title: string|null) => void} [opts.onSaving] this field is saving that title (as typed)
 * @param {(title: string|null, typed: string|null) => void} [opts.onSaved] this field saved that
 *   title (as the server kept it; `typed`: as it was sent)
 * @param {(err: Error) => void} [opts.onError] a save failed (the field shows the old title)
 * @param {string} [opts.className]
 */
export function createTitleField ({ doc, title = null, editable, onChange = () => {}, onSaving = () => {}, onSaved = () => {}, onError = () => {}, className = '' }) {
  let current = title
  let saving = null
  const el = editable
    ? h('input', {
        type: 'text',
        class: `doc-title-input ${className}`.trim(),
        maxlength: String(MAX_TITLE),
        placeholder: doc,
        'aria-label': 'Document title',
        title: 'Rename this document',
        spellcheck: 'false',
        autocomplete: 'off'
      })
    : h('span', { class: `doc-title-text ${className}`.trim() })

  function show () {
    if (editable) {
      el.value = current || ''
      fit()
    } else {
      el.textContent = shownTitle(current, doc)
    }
  }

  function fit () { // as wide as its text (or the id it shows in its place), within the header
    el.size = Math.max(4, Math.min(30, (el.value || doc).length + 1))
  }

  async function commit () {
    const wanted = tidyTitle(el.value)
    if (wanted === (current || '')) {
      show()
      return
    }
    el.setAttribute('aria-busy', 'true')
    onSaving(wanted || null)
    saving = saveTitle(doc, wanted)
    try {
      const meta = await saving
      current = meta.title ?? null
      show()
      onSaved(current, wanted || null)
      onChange(current)
    } catch (err) {
      show()
      onError(err)
    } finally {
      saving = null
      el.removeAttribute('aria-busy')
    }
  }

  if (editable) {
    el.addEventListener('input', fit)
    el.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault()
        el.blur() // leaving the field saves
      } else if (event.key === 'Escape') {
        event.preventDefault()
        show() // back to the title; blurring then finds nothing to save
        el.blur()
      }
    })
    el.addEventListener('blur', () => { if (!saving) commit() })
  }
  show()

  return {
    el,
    get title () { return current },
    /** The title from elsewhere (the server, a notification); what someone is typing stays. */
    set (next) {
      const typing = editable && document.activeElement === el && tidyTitle(el.value) !== (current || '')
      current = next ?? null
      if (!typing) show()
      onChange(current)
    },
    /** Put the caret in the field, its text selected (editable fields only). */
    focus () {
      if (!editable) return
      el.focus()
      el.select()
    }
  }
}
