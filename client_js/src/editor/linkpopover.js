// The small popover at a link under the caret (or clicked): its address (opens in a new tab),
// Edit and Remove. Not modal: the editor keeps the focus, Tab reaches the popover (it follows the
// document in the page), Escape closes it and returns to the text. Read-only editors offer only
// the address. A click on a link in the document never follows it.
import { Plugin } from 'prosemirror-state'
import { h } from '../ui/dom.js'
import { moveFocus } from '../ui/focus.js'
import { linkAt, setLink } from './commands.js'
import { safeHref } from './schema.js'

/**
 * @param {object} opts
 * @param {() => boolean} opts.readonly true while the document takes no edits (a viewer, or
 *   an editor whose access ended)
 * @param {() => void} opts.editLink opens the link dialog for the link under the caret
 */
export function linkPopover ({ readonly, editLink }) {
  return new Plugin({
    view: (view) => new LinkPopover(view, { readonly, editLink }),
    props: {
      handleKeyDown (view, event) {
        if (event.key !== 'Escape') return false
        return popovers.get(view)?.dismiss() || false
      },
      handleDOMEvents: {
        click (view, event) {
          const a = event.target.closest?.('a')
          if (!a || !view.dom.contains(a)) return false
          event.preventDefault() // the document is for editing: its links open from the popover
          const popover = popovers.get(view)
          if (readonly()) popover?.showFor(a)
          else popover?.reopen() // the caret may not have moved (a second click)
          return false
        },
        focus (view) {
          popovers.get(view)?.update(view)
          return false
        },
        blur (view, event) {
          popovers.get(view)?.focusLeft(event.relatedTarget)
          return false
        }
      }
    }
  })
}

const popovers = new WeakMap()

class LinkPopover {
  constructor (view, { readonly, editLink }) {
    this.view = view
    this.readonly = readonly
    this.range = null
    this.dismissed = null // the link the person closed the popover of, until the caret leaves it
    this.opener = null
    this.host = view.dom.parentNode
    this.host.classList.add('tandem-doc-host')
    this.address = h('a', { class: 'tandem-link-address', target: '_blank', rel: 'noopener noreferrer' })
    const edit = h('button', { type: 'button', class: 'tandem-button is-quiet', dataset: { action: 'edit' } }, 'Edit')
    const remove = h('button', { type: 'button', class: 'tandem-button is-quiet', dataset: { action: 'remove' } }, 'Remove')
    this.actions = [edit, remove]
    this.el = h('div', { class: 'tandem-link-popover', role: 'group', 'aria-label': 'Link', hidden: true },
      this.address, edit, remove)
    this.address.addEventListener('click', () => { // the browser opens the new tab
      const opener = this.opener
      this.hide()
      if (this.readonly()) opener?.focus()
      else view.focus()
    })
    edit.addEventListener('click', () => {
      this.hide()
      editLink()
    })
    remove.addEventListener('click', () => {
      const range = this.currentRange()
      this.hide()
      if (range) setLink(range, null)(this.view.state, this.view.dispatch)
      this.view.focus()
    })
    this.el.addEventListener('keydown', (event) => this.onKey(event))
    this.el.addEventListener('focusout', (event) => this.focusLeft(event.relatedTarget))
    this.onOutside = (event) => {
      if (!this.el.hidden && !this.el.contains(event.target) && !event.target.closest?.('a')) this.hide()
    }
    // Escape from anywhere else too (a read-only document has no caret to press it in).
    this.onEscape = (event) => {
      if (event.key === 'Escape' && !event.defaultPrevented && !this.el.hidden && this.dismiss()) event.preventDefault()
    }
    this.root = view.dom.getRootNode()
    this.root.addEventListener('mousedown', this.onOutside)
    this.root.addEventListener('keydown', this.onEscape)
    view.dom.after(this.el)
    popovers.set(view, this)
  }

  /** The link under the caret, when there is one. */
  caretLink (state) {
    if (this.readonly()) return null
    const range = linkAt(state)
    const { empty, from } = state.selection
    // Inside the linked text, not at its edges (typing on after a link is not about the link).
    if (!range.href || !empty || from <= range.from || from >= range.to) return null
    return range
  }

  currentRange () {
    return this.caretLink(this.view.state) || this.range
  }

  update (view) {
    if (this.readonly()) {
      if (!this.el.hidden) this.place() // remote changes move the text
      return
    }
    const range = this.caretLink(view.state)
    const key = range && `${range.from}:${range.href}`
    if (!range) this.dismissed = null
    const focused = view.hasFocus() || this.el.contains(this.root.activeElement)
    if (!range || !focused || key === this.dismissed) {
      if (!this.el.contains(this.root.activeElement)) this.hide()
      return
    }
    this.show(range)
  }

  reopen () {
    this.dismissed = null
    this.update(this.view)
  }

  /** Read-only: the popover of a clicked link. */
  showFor (a) {
    const from = this.view.posAtDOM(a, 0)
    const href = safeHref(a.getAttribute('href'))
    if (!href) return
    this.opener = a
    this.show({ from, to: from + a.textContent.length, href })
  }

  show (range) {
    this.range = range
    this.address.href = safeHref(range.href) || '#'
    this.address.textContent = range.href
    this.address.title = `Open ${range.href} in a new tab`
    this.address.setAttribute('aria-label', `Open ${range.href} in a new tab`)
    for (const button of this.actions) button.hidden = this.readonly()
    this.el.hidden = false
    this.place()
  }

  place () {
    const { view, el, host } = this
    let coords
    try {
      coords = view.coordsAtPos(Math.min(this.range.from, view.state.doc.content.size))
    } catch {
      return this.hide()
    }
    const box = host.getBoundingClientRect()
    const left = coords.left - box.left + host.scrollLeft
    const room = host.clientWidth - el.offsetWidth - 4 // within the document's box, 4 px apart
    el.style.setProperty('left', `${Math.max(4, Math.min(left, room))}px`)
    el.style.setProperty('top', `${coords.bottom - box.top + host.scrollTop + 6}px`)
  }

  hide () {
    this.el.hidden = true
    this.range = null
  }

  /** Escape: close it for this link, back to the text. False when it was not open. */
  dismiss () {
    if (this.el.hidden) return false
    if (this.range) this.dismissed = `${this.range.from}:${this.range.href}`
    const opener = this.opener
    this.hide()
    this.opener = null
    if (this.readonly()) opener?.focus()
    else this.view.focus()
    return true
  }

  focusLeft (to) {
    if (to && (this.el.contains(to) || to === this.view.dom)) return
    this.hide()
  }

  onKey (event) {
    if (event.key === 'Escape') {
      event.preventDefault()
      event.stopPropagation()
      this.dismiss()
      return
    }
    if (event.key !== 'Tab') return
    const controls = [...this.el.querySelectorAll('a, button:not([hidden])')]
    const last = controls[controls.length - 1]
    if (event.shiftKey && event.target === controls[0]) {
      event.preventDefault()
      if (this.readonly()) this.dismiss()
      else this.view.focus()
    } else if (!event.shiftKey && event.target === last) {
      if (moveFocus(this.el, 1)) event.preventDefault()
      this.hide()
    }
  }

  destroy () {
    this.root.removeEventListener('mousedown', this.onOutside)
    this.root.removeEventListener('keydown', this.onEscape)
    popovers.delete(this.view)
    this.el.remove()
  }
}
