// The connection indicator: connected / connecting / reconnecting / offline, and whether local
// changes are still on their way. data-state and data-unsynced mirror it for styling and tests.
// A state that ends the session (no access, deleted) says why, and never promises to keep
// changes the editor no longer takes.
import { h } from './dom.js'

const LABELS = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
  unauthorized: 'Signed out: the link expired',
  forbidden: 'No access to this document',
  deleted: 'This document was deleted',
  closed: 'Disconnected'
}

// Where the session ended for good and the editor stopped taking changes (ui: read-only).
const STOPPED = new Set(['forbidden', 'deleted'])

/** The words for a state, with what the client knows of it (its token, the server's reason). */
function describe (client) {
  const state = client.state
  if (state === 'unauthorized' && !client.token) {
    return { label: 'No access without a token', title: 'This document needs an access link or token' }
  }
  if (state === 'forbidden' && client.closeReason.startsWith('origin')) {
    return {
      label: 'Not allowed on this site',
      title: "The Tandem server refuses pages of this site's origin: its operator can allow it with --allow-origin"
    }
  }
  const label = LABELS[state] || state
  return { label, title: label }
}

/** Whether the editor should stop taking changes in the client's state. */
export function accessEnded (client) {
  return STOPPED.has(client.state) || (client.state === 'unauthorized' && !client.token)
}

function mb (bytes) {
  const value = bytes / 1e6
  return value >= 10 ? String(Math.round(value)) : value.toFixed(1)
}

/** `readonlyLabel`: what a connected read-only page says (a commenter's: "comments only"). */
export function createStatus (client, { readonlyLabel = 'Connected · view only' } = {}) {
  const dot = h('span', { class: 'tandem-status-dot', 'aria-hidden': 'true' })
  const text = h('span', { class: 'tandem-status-text' })
  const el = h('div', { class: 'tandem-status', role: 'status', 'aria-live': 'polite' }, dot, text)
  let showSaving = false
  let savingTimer = 0
  function render () {
    const state = client.state
    el.dataset.state = state
    el.dataset.unsynced = String(client.unsynced)
    el.dataset.kept = String(Boolean(client.kept)) // exact: every unsent change is stored
    // Keystrokes reach the server within milliseconds: say "Saving…" only when it takes a while.
    clearTimeout(savingTimer)
    if (!client.unsynced) showSaving = false
    else if (!showSaving) savingTimer = setTimeout(() => { showSaving = true; render() }, 700)
    const described = describe(client)
    let label = described.label
    const loading = client.loading
    el.dataset.loading = String(Boolean(loading))
    if (loading && state !== 'connected') {
      label = loading.total ? `Loading… ${mb(loading.received)} of ${mb(loading.total)} MB` : `Loading… ${mb(loading.received)} MB`
    } else if (client.unsynced && !accessEnded(client) && (showSaving || state !== 'connected')) {
      // "kept" only when the copy in this browser holds them (lib/localcopy.js): else they live
      // in this tab alone, and closing it loses them.
      // (A store under way, for milliseconds, does not flip the words at every keystroke.)
      const kept = client.kept || client.keeping
      label = state === 'connected' ? 'Saving…' : `${label} · ${kept ? 'changes kept on this device' : 'changes only in this tab'}`
    } else if (state === 'connected') {
      label = client.readonly ? readonlyLabel : 'Saved'
    }
    text.textContent = label
    el.title = state === 'connected' && !client.unsynced ? 'Connected: every change is on the server'
      : label === described.label ? described.title : label
  }
  client.on('state', render)
  client.on('unsynced', render)
  client.on('loading', render)
  render()
  return { el, render }
}
