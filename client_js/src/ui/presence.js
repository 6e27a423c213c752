// The presence bar: one avatar per person in the document, with their name and colour. Given
// `onSelf`, the user's own avatar is a button (click, or Tab then Enter) that calls it.
import { initials } from '../lib/identity.js'
import { h, setColor } from './dom.js'

const MAX_SHOWN = 5

export function createPresence ({ onSelf = null } = {}) {
  const list = h('ul', { class: 'tandem-presence', 'aria-label': 'People in this document' })
  let shown = ''
  function render (people) {
    // One avatar per person: the same name and colour in two tabs is one person.
    const seen = new Set()
    const unique = people.filter((p) => {
      const key = p.self ? 'self' : `${p.name}\u0000${p.color}`
      if (seen.has(key)) return false
      seen.add(key)
      return true
    })
    // Awareness changes with every caret move: redraw only when the people changed, so that a
    // click on an avatar is not lost to an element replaced under the pointer (or the focus).
    const key = JSON.stringify(unique.map((p) => [p.self, p.name, p.color]))
    if (key === shown) return
    shown = key
    const focused = list.contains(document.activeElement)
    list.replaceChildren()
    for (const person of unique.slice(0, MAX_SHOWN)) {
      const label = person.self ? `${person.name} (you)` : person.name
      const face = [h('span', { 'aria-hidden': 'true' }, initials(person.name)), h('span', { class: 'tandem-sr' }, label)]
      const content = person.self && onSelf
        ? h('button', { type: 'button', class: 'tandem-avatar-button', title: `${label}: change your name or colour` }, face)
        : face
      const item = h('li', { class: 'tandem-avatar' + (person.self ? ' is-self' : ''), title: label, dataset: { name: person.name } }, content)
      list.append(setColor(item, person.color))
    }
    if (unique.length > MAX_SHOWN) {
      const rest = unique.slice(MAX_SHOWN).map((p) => p.name).join(', ')
      list.append(h('li', { class: 'tandem-avatar is-more', title: rest },
        h('span', { 'aria-hidden': 'true' }, `+${unique.length - MAX_SHOWN}`),
        h('span', { class: 'tandem-sr' }, `and ${rest}`)))
    }
    list.dataset.count = String(unique.length)
    if (focused) list.querySelector('.tandem-avatar-button')?.focus()
  }
  list.addEventListener('click', (event) => {
    if (onSelf && event.target.closest('.tandem-avatar-button')) onSelf()
  })
  return { el: list, render }
}
