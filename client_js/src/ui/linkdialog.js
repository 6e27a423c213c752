// Asking for a link's address: a small modal <dialog> (focus is trapped, Escape cancels).
import { safeHref } from '../editor/schema.js'
import { h } from './dom.js'

/**
 * Show the dialog inside `host` (a document body or a shadow root's container).
 * Resolves with {href} to set, {href: null} to remove, or null when cancelled.
 */
export function askForLink (host, current) {
  return new Promise((resolve) => {
    const input = h('input', {
      type: 'text', name: 'href', inputmode: 'url', autocomplete: 'off', spellcheck: 'false',
      placeholder: 'https://example.org', 'aria-label': 'Link address', value: current || ''
    })
    const error = h('p', { class: 'tandem-dialog-error', role: 'alert' })
    const remove = h('button', { type: 'button', class: 'tandem-button is-quiet' }, 'Remove link')
    const cancel = h('button', { type: 'button', class: 'tandem-button is-quiet' }, 'Cancel')
    const form = h('form', { method: 'dialog', class: 'tandem-dialog-form' },
      h('h2', { class: 'tandem-dialog-title' }, current ? 'Edit link' : 'Add a link'),
      input, error,
      h('div', { class: 'tandem-dialog-actions' },
        current ? remove : null, h('span', { class: 'tandem-spacer' }), cancel,
        h('button', { type: 'submit', class: 'tandem-button is-primary' }, 'Apply')))
    const dialog = h('dialog', { class: 'tandem-dialog', 'aria-label': 'Link' }, form)
    let result = null
    form.addEventListener('submit', (event) => {
      const href = safeHref(input.value)
      if (!href) {
        event.preventDefault()
        error.textContent = input.value.trim() ? 'Use a web (https://…) or mailto: address.' : 'Type an address.'
        input.focus()
        return
      }
      result = { href }
    })
    remove.addEventListener('click', () => { result = { href: null }; dialog.close() })
    cancel.addEventListener('click', () => dialog.close())
    dialog.addEventListener('close', () => { dialog.remove(); resolve(result) })
    host.append(dialog)
    dialog.showModal()
    input.select()
  })
}
