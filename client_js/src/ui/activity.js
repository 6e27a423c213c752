// The activity panel (opened from the top bar) and the toasts of an ActivityFeed.
//
// The panel is a small drawer under the top bar: newest first, relative times, Escape or a click
// elsewhere closes it and gives the focus back to its button. The button shows a dot while there
// is news the panel has not shown yet.
import { describe, describeText } from '../lib/activity.js'
import { initials } from '../lib/identity.js'
import { ago } from '../lib/time.js'
import { h, icon, setColor } from './dom.js'

const ICON_OF = { version: 'bookmark', restored: 'history', edited: 'pencil', titled: 'pencil', comment: 'comment' }
const TICK_MS = 30000

const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })

/**
 * @param {object} opts
 * @param {HTMLButtonElement} opts.button the top bar's Activity button
 * @param {import('../lib/activity.js').ActivityFeed} opts.feed
 * @param {{show: Function}} opts.toasts
 * @param {(person: {user: string, name: string}) => string|null} opts.colorOf a person's colour
 */
export function createActivity ({ button, feed, toasts, colorOf }) {
  const list = h('ol', { class: 'activity-list', 'aria-labelledby': 'activity-title' })
  const empty = h('p', { class: 'activity-empty' }, 'Nothing yet. Who joins and leaves, comments, saved versions and restores show up here.')
  const close = h('button', { type: 'button', class: 'tandem-tool activity-close', 'aria-label': 'Close activity' }, icon('close'))
  const panel = h('section', { id: 'activity-panel', class: 'activity-panel', 'aria-labelledby': 'activity-title', tabindex: '-1', hidden: true },
    h('header', { class: 'activity-head' },
      h('h2', { id: 'activity-title', class: 'activity-title' }, 'Activity'),
      close),
    empty, list)
  const badge = h('span', { class: 'activity-badge', 'aria-hidden': 'true', hidden: true })
  button.prepend(icon('bell'))
  button.append(badge)
  button.setAttribute('aria-controls', panel.id)
  button.setAttribute('aria-expanded', 'false')
  button.hidden = false

  let unseen = 0
  let tick = 0

  function lead (entry) {
    const person = entry.people?.[0]
    if (entry.kind === 'joined' || entry.kind === 'left') {
      const avatar = h('span', { class: 'activity-avatar' + (entry.kind === 'left' ? ' is-gone' : ''), 'aria-hidden': 'true' }, initials(person.name))
      return setColor(avatar, colorOf(person))
    }
    return h('span', { class: 'activity-icon', 'aria-hidden': 'true' }, icon(ICON_OF[entry.kind] || 'doc'))
  }

  function sentence (entry) {
    return describe(entry).map((part) => (typeof part === 'string' ? part : h('strong', {}, part.name)))
  }

  function when (entry) {
    const at = new Date(entry.at)
    return h('time', { class: 'activity-time', datetime: at.toISOString(), title: absolute.format(at) }, ago(entry.at, 'short'))
  }

  function item (entry) {
    return h('li', { class: 'activity-item', dataset: { kind: entry.kind, id: String(entry.id) } },
      lead(entry),
      h('div', { class: 'activity-body' },
        h('p', { class: 'activity-text' }, sentence(entry)),
        entry.label ? h('p', { class: 'activity-label' }, `“${entry.label}”`) : null,
        when(entry)))
  }

  function render () {
    list.replaceChildren(...feed.entries.map(item))
    empty.hidden = feed.entries.length > 0
  }

  function refreshTimes () {
    for (const time of list.querySelectorAll('time')) time.textContent = ago(Date.parse(time.dateTime), 'short')
  }

  function setUnseen (n) {
    unseen = n
    badge.hidden = n === 0
    button.setAttribute('aria-label', n ? `Activity, ${n} new` : 'Activity')
  }

  function isOpen () {
    return !panel.hidden
  }

  function open () {
    if (isOpen()) return
    // Sit right under the top bar, whatever its height (it wraps on narrow screens).
    const bar = button.closest('.topbar')
    if (bar) panel.style.setProperty('--activity-top', `${Math.round(bar.getBoundingClientRect().bottom)}px`)
    render()
    panel.hidden = false
    button.setAttribute('aria-expanded', 'true')
    setUnseen(0)
    panel.focus({ preventScroll: true })
    tick = setInterval(refreshTimes, TICK_MS)
  }

  function hide ({ restoreFocus = true } = {}) {
    if (!isOpen()) return
    const hadFocus = panel.contains(document.activeElement)
    panel.hidden = true
    button.setAttribute('aria-expanded', 'false')
    clearInterval(tick)
    if (restoreFocus && hadFocus) button.focus()
  }

  button.addEventListener('click', () => (isOpen() ? hide() : open()))
  close.addEventListener('click', () => hide())
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && isOpen() && !event.defaultPrevented) {
      event.preventDefault()
      hide()
    }
  })
  document.addEventListener('pointerdown', (event) => {
    if (isOpen() && !panel.contains(event.target) && !button.contains(event.target)) hide({ restoreFocus: false })
  })

  feed.on('entry', (entry, { added, toast }) => {
    if (isOpen()) render()
    else if (added) setUnseen(unseen + 1)
    // With the panel open the news is in front of them already.
    if (toast && !isOpen()) toasts.show(sentence(entry), { lead: lead(entry), kind: entry.kind })
  })

  render()
  setUnseen(0)
  return { panel, open, hide, render, text: describeText }
}
