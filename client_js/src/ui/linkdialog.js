// Asking for a link's address: a small modal <dialog> (focus is trapped, Escape cancels).
import { safeHref } from '../editor/schema.js'
import { h } from './dom.js'

/**
 * Show the dialog inside `host` (a document body or a shadow root's container). `decide` is called
 * once, synchronously, right after the dialog closed (so the editor can take the focus back before
 * the next keystroke), with {href} to set, {href: null} to remove, or null when cancelled.
 */
export function askForLink (host, current, decide) {
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
  let decided = false
  const finish = (answer) => {
    if (decided) return
    decided = true
    dialog.close()
    dialog.remove()
    decide(answer)
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const href = safeHref(input.value)
    if (href) return finish({ href })
    error.textContent = input.value.trim() ? 'Use a web (https://…) or mailto: address.' : 'Type an address.'
    input.focus()
  })
  remove.addEventListener('click', () => finish({ href: null }))
  cancel.addEventListener('click', () => finish(null))
  dialog.addEventListener('cancel', (event) => { event.preventDefault(); finish(null) }) // Escape
  dialog.addEventListener('close', () => finish(null))
  host.append(dialog)
  dialog.showModal()
  input.select()
}
