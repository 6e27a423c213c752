// "What should others call you?": asked once (then remembered in localStorage), and again when
// the user clicks their own avatar. Dismissed the first time (Escape), it leaves a guest name.
import { cleanName, colours, guestUser, rememberUser } from '../lib/identity.js'
import { serverRules } from '../lib/rules.js'
import { h, setColor } from './dom.js'

export function askForName (current = null, { cancellable = false } = {}) {
  return new Promise((resolve) => {
    const palette = colours()
    const chosen = current?.color || palette[Math.floor(Math.random() * palette.length)]
    const input = h('input', {
      type: 'text', name: 'name', maxlength: String(serverRules().maxName), autocomplete: 'nickname', required: true,
      placeholder: 'Your name', 'aria-label': 'Your name', value: current?.name || ''
    })
    const swatches = h('fieldset', { class: 'swatches' }, h('legend', {}, 'Your colour'),
      palette.map((color, i) => h('label', { class: 'swatch', title: `Colour ${i + 1}` },
        h('input', { type: 'radio', name: 'color', value: color, checked: color === chosen, 'aria-label': `Colour ${i + 1}` }),
        setColor(h('span', { 'aria-hidden': 'true' }), color))))
    const cancel = cancellable ? h('button', { type: 'button', class: 'tandem-button is-quiet' }, 'Cancel') : null
    const form = h('form', { method: 'dialog', class: 'tandem-dialog-form' },
      h('h2', { class: 'tandem-dialog-title', id: 'name-title' }, current ? 'Change your name' : 'What should others call you?'),
      h('p', { class: 'tandem-dialog-text' }, 'Your name and colour label your cursor for everyone in the document. This browser remembers them.'),
      input, swatches,
      h('div', { class: 'tandem-dialog-actions' }, h('span', { class: 'tandem-spacer' }), cancel,
        h('button', { type: 'submit', class: 'tandem-button is-primary' }, current ? 'Save' : 'Start editing')))
    const dialog = h('dialog', { class: 'tandem-dialog', 'aria-labelledby': 'name-title' }, form)
    let result = null
    form.addEventListener('submit', (event) => {
      const name = cleanName(input.value)
      if (!name) {
        event.preventDefault()
        input.focus()
        return
      }
      result = rememberUser({ name, color: form.elements.color.value })
    })
    // The first question wants an answer: a first Escape is held back. The browser lets a
    // second one close the dialog all the same, and then the person is a remembered guest.
    dialog.addEventListener('cancel', (event) => { if (!cancellable) event.preventDefault() })
    cancel?.addEventListener('click', () => dialog.close())
    dialog.addEventListener('close', () => {
      dialog.remove()
      if (!result && !cancellable) result = rememberUser(guestUser())
      resolve(result)
    })
    document.body.append(dialog)
    dialog.showModal()
    input.focus()
  })
}
