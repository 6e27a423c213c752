// /d/{doc}/history: a timeline of versions with their authors and times, a preview of the
// selected one, its changes against the previous version, the current document or any other
// version, and a restore button that asks first. New versions appear as the server announces
// them on /events.
//
// Names and labels go into the DOM as text only; the preview and the diff are HTML the server
// rendered and sanitized with bleach.
import { EventStream } from '../lib/events.js'
import { canEditWith } from '../lib/identity.js'
import { ago } from '../lib/time.js'
import { shownTitle, tabTitle } from '../ui/doctitle.js'
import { h } from '../ui/dom.js'
import { basePath, keepTokenInLinks, pageData, pageToken, request, withToken } from '../ui/page.js'
import { confirmRestore, savedMessage, saveVersion } from '../ui/versiondialogs.js'

const data = pageData()
const doc = data.doc
const token = pageToken()
const $ = (id) => document.getElementById(id)
const list = $('history-versions')
const status = $('history-status')
const title = $('history-title')
const summary = $('history-summary')
const content = $('history-content')
const compare = $('history-compare')
const restoreButton = $('history-restore')
const tabs = { preview: $('history-tab-preview'), diff: $('history-tab-diff') }

const state = { versions: [], selected: null, tab: 'preview', compare: 'previous', busy: false }
// Saving and restoring take a write token: a reader or commenter is not offered them (the
// server would refuse). Without auth everyone writes; the token's claims say its role otherwise.
const canWrite = canEditWith(token)
const saveForm = $('history-save')
saveForm.hidden = !canWrite
restoreButton.hidden = !canWrite
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

const api = (path, init) => request(`/api/docs/${encodeURIComponent(doc)}${path}`, init)
const post = async (path, body) => (await api(path, { method: 'POST', body: JSON.stringify(body) })).json()
const authorsOf = (v) => v.authors.map((user) => v.names[user] || user)
const find = (number) => state.versions.find((v) => v.version === number)
const newestFirst = () => [...state.versions].reverse()

function say (text, kind = 'info') {
  status.textContent = text
  status.dataset.kind = kind
}

function pick (v) {
  const authors = authorsOf(v)
  return h('li', { class: 'history-version' },
    h('button', {
      type: 'button',
      class: 'history-pick',
      dataset: { version: String(v.version) },
      'aria-current': v.version === state.selected ? 'true' : null
    },
    h('span', { class: 'history-pick-head' },
      h('strong', {}, `Version ${v.version}`),
      v.label ? h('span', { class: 'history-label' }, v.label) : null),
    h('time', { class: 'history-time', datetime: v.at, title: absolute.format(new Date(v.at)) }, ago(v.at, 'short')),
    h('span', { class: 'history-meta' },
      h('span', { class: 'history-authors' }, authors.length ? authors.join(', ') : 'no edits'),
      h('span', { class: 'history-added' }, `+${v.added}`),
      h('span', { class: 'history-removed' }, `−${v.removed}`))))
}

function renderTimeline () {
  list.replaceChildren(...newestFirst().map(pick))
}

function renderCompareOptions () {
  const v = state.selected
  const options = []
  if (v > 1) options.push(['previous', `the previous version (${v - 1})`])
  options.push(['current', 'the current document'])
  for (const other of newestFirst()) {
    if (other.version !== v) options.push([String(other.version), `version ${other.version}`])
  }
  compare.replaceChildren(...options.map(([value, label]) => h('option', { value }, label)))
  if (!options.some(([value]) => value === state.compare)) state.compare = options[0][0]
  compare.value = state.compare
  compare.disabled = false
}

async function showPreview (v) {
  summary.textContent = `${absolute.format(new Date(v.at))} · ${authorsOf(v).join(', ') || 'no edits'}` +
    (v.restored_from ? ` · restored from version ${v.restored_from}` : '')
  const response = await api(`/versions/${v.version}?format=html`)
  content.innerHTML = await response.text() // sanitized by the server (bleach)
  markComments()
  if (!content.textContent.trim()) content.replaceChildren(h('p', { class: 'history-empty' }, 'This version is empty.'))
}

// Commented ranges are highlighted (history.css); the highlight says what it is.
function markComments () {
  for (const span of content.querySelectorAll('.tandem-comment')) span.title = 'Commented text'
}

async function showChanges (v) {
  let from = v.version
  let to = state.compare
  if (to === 'previous') { from = v.version - 1; to = v.version }
  const diff = await (await api(`/diff?from=${from}&to=${to}`)).json()
  const target = to === 'current' ? 'the current document' : `version ${to}`
  summary.textContent = `From version ${from} to ${target}: ${diff.added} characters added, ${diff.removed} removed`
  content.innerHTML = diff.html // built from escaped text and sanitized by the server
  markComments()
  if (!diff.blocks.some((b) => b.op !== 'equal')) content.prepend(h('p', { class: 'history-empty' }, 'No changes.'))
}

async function renderSelection () {
  const v = find(state.selected)
  if (!v) return
  title.textContent = v.label ? `Version ${v.version}: ${v.label}` : `Version ${v.version}`
  restoreButton.disabled = !canWrite
  tabs.preview.setAttribute('aria-selected', String(state.tab === 'preview'))
  tabs.diff.setAttribute('aria-selected', String(state.tab === 'diff'))
  content.dataset.view = state.tab
  try {
    await (state.tab === 'preview' ? showPreview(v) : showChanges(v))
  } catch (err) {
    say(`Could not load version ${v.version}: ${err.message}`, 'error')
  }
}

function sayCount () {
  if (!state.versions.length) {
    say('No versions yet: a version is recorded when an editing burst ends, or when you save one.')
  } else {
    say(`${state.versions.length} version${state.versions.length === 1 ? '' : 's'}`)
  }
}

/**
 * Fetch the list; select `select`, or the newest when nothing is selected yet. `live` (someone
 * else's new version) leaves the reader's selection and a message of theirs as they were.
 */
async function loadVersions ({ select = null, live = false } = {}) {
  state.versions = await (await api('/versions')).json()
  if (select !== null) state.selected = select
  const first = state.selected === null
  if (first && state.versions.length) state.selected = state.versions[state.versions.length - 1].version
  renderTimeline()
  if (!live || !['ok', 'error'].includes(status.dataset.kind)) sayCount()
  if (!state.versions.length) return
  renderCompareOptions()
  if (!live || first) await renderSelection()
}

list.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-version]')
  if (!button) return
  state.selected = Number(button.dataset.version)
  renderTimeline()
  renderCompareOptions()
  renderSelection()
})

compare.addEventListener('change', () => {
  state.compare = compare.value
  state.tab = 'diff'
  renderSelection()
})

for (const [name, tab] of Object.entries(tabs)) {
  tab.addEventListener('click', () => { state.tab = name; renderSelection() })
}

restoreButton.addEventListener('click', async () => {
  const v = state.selected
  if (v === null || state.busy) return
  state.busy = true // (no second question while one is open)
  if (!await confirmRestore(v)) {
    state.busy = false
    return
  }
  restoreButton.disabled = true
  try {
    const made = await post('/restore', { version: v })
    await loadVersions({ select: made.version })
    say(`Restored version ${v}: the document now matches it (recorded as version ${made.version}).`, 'ok')
  } catch (err) {
    say(`Restore failed: ${err.message}`, 'error')
  } finally {
    state.busy = false
    restoreButton.disabled = !canWrite
  }
})

saveForm.addEventListener('submit', async (event) => {
  event.preventDefault()
  const input = $('history-label')
  try {
    const { made, named } = await saveVersion(doc, input.value)
    input.value = ''
    await loadVersions({ select: made.version })
    say(savedMessage(made, named), 'ok')
  } catch (err) {
    say(`Could not save a version: ${err.message}`, 'error')
  }
})

// New versions while the page is open (others keep editing): the server announces each one on
// /events. A burst of them makes one refresh; so does the socket (re)opening, for any missed.
let refreshTimer = 0
function scheduleRefresh () {
  clearTimeout(refreshTimer)
  refreshTimer = setTimeout(() => {
    if (state.busy) return scheduleRefresh() // a save or restore reloads the list itself
    loadVersions({ live: true }).catch(() => {})
  }, 200)
}

// The document's title (its id while it has none): the heading, the top bar and the tab.
function showTitle (title) {
  const shown = shownTitle(title, doc)
  $('history-doc').textContent = shown
  const back = document.querySelector('.history-back')
  back.textContent = shown
  back.title = title ? `Back to the document (${doc})` : 'Back to the document'
  document.title = tabTitle(title, doc, 'History of ')
}

async function loadTitle () {
  try {
    showTitle((await (await api('')).json()).title ?? null)
  } catch {} // no such document (yet): its id stays
}

function start () {
  loadTitle()
  $('history-doc').href = withToken(`${basePath()}/d/${encodeURIComponent(doc)}`)
  keepTokenInLinks()
  loadVersions().catch((err) => say(`Could not load the history: ${err.message}`, 'error'))
  if (!data.events) return
  new EventStream({
    server: window.location.origin + basePath(),
    path: data.events,
    docs: [doc],
    token,
    onEvent: (event) => {
      if (event.type === 'version' || event.type === 'restored') scheduleRefresh()
      if (event.type === 'title' && event.doc === doc) showTitle(typeof event.title === 'string' ? event.title : null)
    },
    onOpen: scheduleRefresh
  }).start()
}

if (data.auth === 'true' && !token) {
  say('This history needs an access link: open it with the ?token=… you were given.', 'error')
} else {
  start()
}
