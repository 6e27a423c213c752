// Quiet toasts in a corner: a polite live region, at most a few at once, each leaving on its own
// after a few seconds (later while the pointer rests on it). Content is DOM nodes built with h(),
// so names arrive as text, never as markup.
import { h } from './dom.js'

const MAX_SHOWN = 3
const DURATION_MS = 5000

export function createToasts ({ max = MAX_SHOWN, duration = DURATION_MS } = {}) {
  const el = h('div', { class: 'tandem-toasts', role: 'status', 'aria-live': 'polite', 'aria-label': 'Notifications' })

  function dismiss (toast) {
    if (!toast.isConnected || toast.classList.contains('is-leaving')) return
    clearTimeout(toast._timer)
    toast.classList.add('is-leaving')
    // The fade-out ends with animationend; without motion (or in a hidden tab) remove it anyway.
    toast.addEventListener('animationend', () => toast.remove(), { once: true })
    setTimeout(() => toast.remove(), 400)
  }

  function arm (toast) {
    clearTimeout(toast._timer)
    toast._timer = setTimeout(() => dismiss(toast), duration)
  }

  /**
   * @param {Node[]} content the message
   * @param {object} [opts]
   * @param {Node} [opts.lead] an avatar or icon before it
   * @param {string} [opts.kind] for styling and tests (data-kind)
   */
  function show (content, { lead = null, kind = '' } = {}) {
    const toast = h('div', { class: 'tandem-toast', dataset: { kind } },
      lead, h('span', { class: 'tandem-toast-text' }, content))
    toast.addEventListener('pointerenter', () => clearTimeout(toast._timer))
    toast.addEventListener('pointerleave', () => arm(toast))
    toast.addEventListener('click', () => dismiss(toast))
    el.append(toast)
    const shown = [...el.children].filter((t) => !t.classList.contains('is-leaving'))
    for (const old of shown.slice(0, Math.max(0, shown.length - max))) dismiss(old)
    arm(toast)
    return toast
  }

  return { el, show, dismiss }
}
