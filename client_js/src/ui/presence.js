// The presence bar: one avatar per person in the document, with their name and colour.
import { initials } from '../lib/identity.js'
import { h, setColor } from './dom.js'

const MAX_SHOWN = 5

export function createPresence () {
  const list = h('ul', { class: 'tandem-presence', 'aria-label': 'People in this document' })
  function render (people) {
    list.replaceChildren()
    // One avatar per person: the same name and colour in two tabs is one person.
    const seen = new Set()
    const unique = people.filter((p) => {
      const key = p.self ? 'self' : `${p.name}\u0000${p.color}`
      if (seen.has(key)) return false
      seen.add(key)
      return true
    })
    for (const person of unique.slice(0, MAX_SHOWN)) {
      const label = person.self ? `${person.name} (you)` : person.name
      const item = h('li', { class: 'tandem-avatar' + (person.self ? ' is-self' : ''), title: label, dataset: { name: person.name } },
        h('span', { 'aria-hidden': 'true' }, initials(person.name)),
        h('span', { class: 'tandem-sr' }, label))
      list.append(setColor(item, person.color))
    }
    if (unique.length > MAX_SHOWN) {
      const rest = unique.slice(MAX_SHOWN).map((p) => p.name).join(', ')
      list.append(h('li', { class: 'tandem-avatar is-more', title: rest },
        h('span', { 'aria-hidden': 'true' }, `+${unique.length - MAX_SHOWN}`),
        h('span', { class: 'tandem-sr' }, `and ${rest}`)))
    }
    list.dataset.count = String(unique.length)
  }
  return { el: list, render }
}
