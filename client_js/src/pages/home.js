// /: recent documents (last edited, who is in them) and a new-document form.
import { EventStream } from '../lib/events.js'
import { initials } from '../lib/identity.js'
import { isValidDocId } from '../lib/rules.js'
import { ago } from '../lib/time.js'
import { h, icon, setColor } from '../ui/dom.js'
import {
  authHeaders,
  basePath,
  keepTokenInLinks,
  pageData,
  pageToken,
  request,
  withToken,
} from '../ui/page.js'

const REFRESH_MS = 10000
const data = pageData()
const base = basePath()
const list = document.getElementById('docs')
const summary = document.getElementById('docs-summary')

// ---- new document ----
const form = document.getElementById('create')
const nameInput = form.elements.name
const hint = document.getElementById('create-hint')
const hintText = hint.textContent

/** "Team notes!" -> "team-notes"; '' when nothing usable is left. */
export function slugify (name) {
  return name.trim().toLowerCase()
    .normalize('NFKD').replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '').replace(/-+$/, '')
    .slice(0, 128)
}

nameInput.addEventListener('input', () => {
  const raw = nameInput.value.trim()
  const id = slugify(raw)
  hint.classList.toggle('is-error', !!raw && !id)
  hint.textContent = !raw ? hintText : id ? `Opens /d/${id}` : 'Use letters or digits.'
})
form.addEventListener('submit', (event) => {
  event.preventDefault()
  const raw = nameInput.value.trim()
  const id = raw ? slugify(raw) : randomId()
  if (!isValidDocId(id)) {
    nameInput.focus()
    return
  }
  window.location.assign(withToken(`${base}/d/${encodeURIComponent(id)}`))
})

// ---- import a Markdown file into a new document (PUT /api/docs/{id}, then open it) ----
const importInput = document.getElementById('import-file')
const importStatus = document.getElementById('import-status')
importInput?.addEventListener('change', async () => {
  const file = importInput.files[0]
  if (!file) return
  importStatus.classList.remove('is-error')
  importStatus.textContent = `Importing ${file.name}…`
  try {
    const named = slugify(nameInput.value) || slugify(file.name.replace(/\.(md|markdown|txt)$/i, ''))
    const id = await freeId(isValidDocId(named) ? named : randomId())
    const response = await fetch(`${base}/api/docs/${encodeURIComponent(id)}`, {
      method: 'PUT',
      headers: { ...authHeaders(), 'Content-Type': 'text/markdown' },
      body: await file.text()
    })
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`
      try { message = (await response.json()).error || message } catch {}
      throw new Error(message)
    }
    window.location.assign(withToken(`${base}/d/${encodeURIComponent(id)}`))
  } catch (err) {
    importStatus.classList.add('is-error')
    importStatus.textContent = `Import failed: ${err.message}`
  } finally {
    importInput.value = ''
  }
})

/** `id`, or `id-2`, `id-3`… : an import never replaces a document that exists. */
async function freeId (id) {
  const { docs } = await (await request('/api/docs')).json()
  const taken = new Set(docs.map((d) => d.id))
  for (let n = 1; n < 1000; n++) {
    const candidate = n === 1 ? id : `${id.slice(0, 120)}-${n}`
    if (!taken.has(candidate)) return candidate
  }
  return randomId()
}

function randomId () {
  const bytes = crypto.getRandomValues(new Uint8Array(4))
  return 'doc-' + [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')
}

// ---- the list ----
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

function size (bytes) {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}

async function getJSON (path) {
  return (await request(path)).json()
}

async function people (doc) {
  try {
    const meta = await getJSON(`/api/docs/${encodeURIComponent(doc.id)}`)
    return meta.presence || []
  } catch {
    return [] // closed in the meantime
  }
}

function avatars (present) {
  const ul = h('ul', { class: 'tandem-presence', 'aria-label': 'In this document' })
  for (const person of present.slice(0, 4)) {
    const name = person.name || 'Someone'
    ul.append(setColor(h('li', { class: 'tandem-avatar', title: name },
      h('span', { 'aria-hidden': 'true' }, initials(name)), h('span', { class: 'tandem-sr' }, name)), person.color))
  }
  if (present.length > 4) ul.append(h('li', { class: 'tandem-avatar is-more' }, `+${present.length - 4}`))
  return ul
}

function row (doc, present) {
  const names = present.map((p) => p.name).filter(Boolean)
  const meta = [h('time', { datetime: doc.updated_at || '', title: doc.updated_at ? absolute.format(new Date(doc.updated_at)) : '' }, doc.updated_at ? `Edited ${ago(doc.updated_at)}` : 'Not saved yet')]
  if (doc.editors > 0) {
    meta.push(' · ', h('span', { class: 'doc-live' },
      names.length ? `${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''} ${doc.editors === 1 ? 'is' : 'are'} here`
        : `${doc.editors} ${doc.editors === 1 ? 'person' : 'people'} here`))
  }
  meta.push(' · ', size(doc.size))
  return h('li', { class: 'doc-item', dataset: { doc: doc.id } },
    h('a', { class: 'doc-link', href: withToken(`${base}/d/${encodeURIComponent(doc.id)}`) },
      h('span', { class: 'doc-icon' }, icon('doc')),
      h('span', { class: 'doc-main' }, h('span', { class: 'doc-name' }, doc.id), h('span', { class: 'doc-meta' }, meta)),
      present.length ? avatars(present) : null))
}

// Live updates replace only the rows that changed, so the focus (a keyboard user's place in the
// list) and the pointer's hover stay where they were.
function update (rows) {
  const old = new Map([...list.querySelectorAll(':scope > .doc-item')].map((li) => [li.dataset.doc, li]))
  const focused = list.contains(document.activeElement) ? document.activeElement.closest('.doc-item')?.dataset.doc : null
  const next = rows.map((fresh) => {
    const current = old.get(fresh.dataset.doc)
    return current && current.isEqualNode(fresh) ? current : fresh
  })
  if (next.length !== list.children.length || next.some((li, i) => list.children[i] !== li)) list.replaceChildren(...next)
  if (focused && !list.contains(document.activeElement)) list.querySelector(`.doc-item[data-doc="${CSS.escape(focused)}"] .doc-link`)?.focus()
}

let loading = null
async function refresh () {
  if (loading) return loading
  loading = (async () => {
    try {
      const { docs } = await getJSON('/api/docs')
      const present = await Promise.all(docs.map((doc) => (doc.editors > 0 ? people(doc) : [])))
      if (!docs.length) {
        list.replaceChildren(h('li', { class: 'empty' }, 'No documents yet. Name one above to start writing.'))
      } else {
        update(docs.map((doc, i) => row(doc, present[i])))
      }
      const live = docs.filter((d) => d.editors > 0).length
      summary.textContent = `${docs.length} ${docs.length === 1 ? 'document' : 'documents'}` + (live ? ` · ${live} open now` : '')
    } catch (err) {
      const message = err.status === 401 || err.status === 403
        ? 'Open this page with your access link (…?token=…) to see the documents.'
        : 'Could not load the documents. Retrying…'
      list.replaceChildren(h('li', { class: 'empty' }, message))
    } finally {
      loading = null
    }
  })()
  return loading
}

// Bursts of notifications (joins, edits) make one refresh.
let refreshTimer = 0
function scheduleRefresh () {
  clearTimeout(refreshTimer)
  refreshTimer = setTimeout(refresh, 400)
}

const token = pageToken()
if (data.auth === 'true' && !token) {
  // Nothing to ask the API without a token: say how to get in instead of collecting 401s.
  list.replaceChildren(h('li', { class: 'empty' }, 'This Tandem needs an access link: open the page with the ?token=… you were given.'))
} else {
  start()
}

function start () {
  keepTokenInLinks() // the logo
  refresh()
  // Live updates: the server's notifications when it offers them, else a gentle poll while visible.
  if (data.events) {
    const events = new EventStream({
      server: window.location.origin + base,
      path: data.events,
      docs: ['*'],
      token,
      onEvent: scheduleRefresh
    })
    events.start()
  }
  setInterval(() => { if (document.visibilityState === 'visible') refresh() }, REFRESH_MS)
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') refresh() })
}
