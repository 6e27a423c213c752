// Two small in-page dialogs of the history: a name for a version about to be saved, and the
// question before a restore. A modal <dialog>: Escape or Cancel says no, and the focus goes
// back to the button that opened it.
import { h } from './dom.js'
import { request } from './page.js'

function show (dialog, first) {
  return new Promise((resolve) => {
    const opener = document.activeElement
    dialog.addEventListener('close', () => {
      dialog.remove()
      opener?.focus?.()
      resolve(dialog.returnValue)
    })
    document.body.append(dialog)
    dialog.showModal()
    first.focus()
  })
}

function actions (cancel, confirm) {
  return h('div', { class: 'tandem-dialog-actions' }, h('span', { class: 'tandem-spacer' }), cancel, confirm)
}

// Not a submit button: Enter in the form means its main action, not Cancel.
function cancelButton () {
  const button = h('button', { type: 'button', class: 'tandem-button is-quiet' }, 'Cancel')
  button.addEventListener('click', () => button.closest('dialog').close('cancel'))
  return button
}

/** The name for a new version: a string ('' for none), or null when cancelled. */
export async function askVersionLabel () {
  const input = h('input', { type: 'text', name: 'label', maxlength: '200', placeholder: 'Name (optional)', 'aria-label': 'Version name' })
  const dialog = h('dialog', { class: 'tandem-dialog version-dialog', 'aria-labelledby': 'version-title' },
    h('form', { method: 'dialog', class: 'tandem-dialog-form' },
      h('h2', { class: 'tandem-dialog-title', id: 'version-title' }, 'Save a version'),
      h('p', { class: 'tandem-dialog-text' }, 'The document as it is now joins its history, under this name if you give one.'),
      input,
      actions(cancelButton(), h('button', { type: 'submit', value: 'save', class: 'tandem-button is-primary' }, 'Save version'))))
  dialog.returnValue = 'cancel'
  const answer = await show(dialog, input)
  return answer === 'save' ? input.value.trim() : null
}

/** Whether to restore `version` (true only when the person confirmed). */
export async function confirmRestore (version) {
  const confirm = h('button', { type: 'submit', value: 'restore', class: 'tandem-button is-primary' }, `Restore version ${version}`)
  const cancel = cancelButton()
  const dialog = h('dialog', { class: 'tandem-dialog restore-dialog', role: 'alertdialog', 'aria-labelledby': 'restore-title', 'aria-describedby': 'restore-text' },
    h('form', { method: 'dialog', class: 'tandem-dialog-form' },
      h('h2', { class: 'tandem-dialog-title', id: 'restore-title' }, `Restore version ${version}?`),
      h('p', { class: 'tandem-dialog-text', id: 'restore-text' },
        'The document will change for everyone editing it. The current content stays in the history, so restoring again undoes this.'),
      actions(cancel, confirm)))
  dialog.returnValue = 'cancel'
  return (await show(dialog, cancel)) === 'restore'
}

/**
 * Save a version of `doc` now (POST …/versions). `named`: nothing had changed since the newest
 * version, which had no name, so the server gave it this one (200) rather than add an empty one.
 */
export async function saveVersion (doc, label) {
  const response = await request(`/api/docs/${encodeURIComponent(doc)}/versions`, {
    method: 'POST', body: JSON.stringify({ label: label.trim() || null })
  })
  return { made: await response.json(), named: response.status === 200 }
}

/** What a save did, in a sentence. */
export function savedMessage (made, named) {
  if (named) return `Nothing changed since version ${made.version}: it is now named “${made.label}”.`
  return made.label ? `Saved version ${made.version} “${made.label}”.` : `Saved version ${made.version}.`
}
