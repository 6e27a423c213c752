// /: recent documents (their titles, last edited, who is in them) with a filter, renaming and,
// for admins, deleting; and a new-document form that says when a name is taken.
import { EventStream } from '../lib/events.js'
import { initials, tokenClaims } from '../lib/identity.js'
import { isValidDocId } from '../lib/rules.js'
import { ago } from '../lib/time.js'
import { MAX_TITLE, saveTitle, shownTitle, tidyTitle } from '../ui/doctitle.js'
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
const filterInput = document.getElementById('docs-filter')
// What the page offers is what the server would allow: without auth everyone writes (and nobody
// is an admin); with it, the token's role says (one the page cannot read: it may try).
const role = data.auth === 'true' ? tokenClaims(pageToken())?.role ?? null : 'write'
const canWrite = role !== 'read'
const canDelete = role === 'admin'
/** The documents as last listed (GET /api/docs), and who is in each. */
let known = []
let knownPresent = []

// ---- new document ----
const form = document.getElementById('create')
const nameInput = form.elements.name
const hint = document.getElementById('create-hint')
const defaultHint = hint.textContent

/** "Team notes!" -> "team-notes"; '' when nothing usable is left. */
export function slugify (name) {
  return name.trim().toLowerCase()
    .normalize('NFKD').replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '').replace(/-+$/, '')
    .slice(0, 128)
}

/** The document this name would open or clash with: same id, or same title (any case). */
function existing (raw) {
  const id = slugify(raw)
  const title = tidyTitle(raw).toLowerCase()
  return known.find((d) => d.id === id) || known.find((d) => d.title && d.title.toLowerCase() === title) || null
}

function hintExists (doc) {
  hint.classList.remove('is-error')
  hint.classList.add('is-warning')
  const open = h('a', { class: 'create-open', href: withToken(`${base}/d/${encodeURIComponent(doc.id)}`) }, 'open it?')
  hint.replaceChildren(`“${shownTitle(doc.title, doc.id)}” already exists — `, open)
  return open
}

function sayHint (text, error = false) {
  hint.classList.remove('is-warning')
  hint.classList.toggle('is-error', error)
  hint.textContent = text
}

nameInput.addEventListener('input', () => {
  const raw = nameInput.value.trim()
  const id = slugify(raw)
  const taken = raw ? existing(raw) : null
  if (taken) hintExists(taken)
  else sayHint(!raw ? defaultHint : id ? `Opens /d/${id}` : 'Use letters or digits.', !!raw && !id)
})
form.addEventListener('submit', async (event) => {
  event.preventDefault()
  const raw = nameInput.value.trim()
  const id = raw ? slugify(raw) : randomId()
  if (!isValidDocId(id)) {
    nameInput.focus()
    return
  }
  // A name that is taken opens nothing by surprise: the page says so, and offers to open it.
  const taken = raw ? existing(raw) || await stored(id) : null
  if (taken) {
    hintExists(taken).focus()
    return
  }
  try {
    await saveTitle(id, raw ? raw.slice(0, MAX_TITLE) : null) // creates it: listed from now on
  } catch (err) {
    sayHint(err.status === 403 ? 'This link cannot create documents.' : `Could not create it: ${err.message}`, true)
    return
  }
  window.location.assign(withToken(`${base}/d/${encodeURIComponent(id)}`))
})

/** The document of this id as listed now, if there is one (the page's list may be a moment old). */
async function stored (id) {
  try {
    const { docs } = await getJSON('/api/docs')
    return docs.find((d) => d.id === id) || null
  } catch {
    return null // the create says why
  }
}

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
    // Its title: the name typed, else the file's name.
    const title = nameInput.value.trim() || file.name.replace(/\.(md|markdown|txt)$/i, '')
    await saveTitle(id, title.slice(0, MAX_TITLE)).catch(() => {}) // the content is in: open it
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
  const empty = !doc.size && doc.created_at
  const when = empty ? doc.created_at : doc.updated_at
  const meta = [h('time', { datetime: when || '', title: when ? absolute.format(new Date(when)) : '' },
    empty ? `Empty · created ${ago(when)}` : when ? `Edited ${ago(when)}` : 'Not saved yet')]
  if (doc.editors > 0) {
    meta.push(' · ', h('span', { class: 'doc-live' },
      names.length ? `${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''} ${doc.editors === 1 ? 'is' : 'are'} here`
        : `${doc.editors} ${doc.editors === 1 ? 'person' : 'people'} here`))
  }
  if (!empty) meta.push(' · ', size(doc.size))
  const titled = doc.title && doc.title !== doc.id
  const actions = h('div', { class: 'doc-actions' },
    canWrite ? h('button', { type: 'button', class: 'tandem-button is-quiet doc-rename', title: 'Rename', 'aria-label': `Rename ${shownTitle(doc.title, doc.id)}`, onclick: () => rename(doc) }, icon('pencil'), h('span', { class: 'button-label' }, 'Rename')) : null,
    canDelete ? h('button', { type: 'button', class: 'tandem-button is-quiet doc-delete', title: 'Delete', 'aria-label': `Delete ${shownTitle(doc.title, doc.id)}`, onclick: () => askDelete(doc) }, icon('trash'), h('span', { class: 'button-label' }, 'Delete')) : null)
  return h('li', { class: 'doc-item', dataset: { doc: doc.id } },
    h('a', { class: 'doc-link', href: withToken(`${base}/d/${encodeURIComponent(doc.id)}`) },
      h('span', { class: 'doc-icon' }, icon('doc')),
      h('span', { class: 'doc-main' },
        h('span', { class: 'doc-name', title: titled ? `${doc.title} (${doc.id})` : doc.id }, shownTitle(doc.title, doc.id), titled ? h('span', { class: 'doc-id' }, doc.id) : null),
        h('span', { class: 'doc-meta' }, meta)),
      present.length ? avatars(present) : null),
    actions.children.length ? actions : null)
}

/** The row of a document, if it is shown. */
function rowOf (id) {
  return list.querySelector(`.doc-item[data-doc="${CSS.escape(id)}"]`)
}

// ---- rename in place: Enter or leaving the field saves, Escape keeps the title ----
function rename (doc) {
  const li = rowOf(doc.id)
  if (!li || li.dataset.mode) return
  li.dataset.mode = 'rename'
  const input = h('input', { type: 'text', class: 'doc-rename-input', value: doc.title || '', placeholder: doc.id, maxlength: String(MAX_TITLE), 'aria-label': `New title of ${shownTitle(doc.title, doc.id)}` })
  const error = h('p', { class: 'doc-row-note is-error', role: 'alert' })
  const form = h('form', { class: 'doc-rename' }, input, error)
  let done = false
  const finish = async (save) => {
    if (done) return
    done = true
    const wanted = tidyTitle(input.value)
    if (save && wanted !== (doc.title || '')) {
      input.disabled = true
      try {
        const meta = await saveTitle(doc.id, wanted)
        doc.title = meta.title ?? null
      } catch (err) {
        done = false
        input.disabled = false
        error.textContent = err.status === 403 ? 'This link cannot rename it.' : `Could not rename it: ${err.message}`
        input.focus()
        return
      }
    }
    delete li.dataset.mode
    render()
    rowOf(doc.id)?.querySelector('.doc-link')?.focus()
    refresh()
  }
  form.addEventListener('submit', (event) => { event.preventDefault(); finish(true) })
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') { event.preventDefault(); finish(false) }
  })
  input.addEventListener('blur', () => { if (!input.disabled) finish(true) })
  li.replaceChildren(form)
  input.focus()
  input.select()
}

// ---- delete (admins): the row asks first, in the page ----
function askDelete (doc) {
  const li = rowOf(doc.id)
  if (!li || li.dataset.mode) return
  li.dataset.mode = 'delete'
  const name = shownTitle(doc.title, doc.id)
  const error = h('p', { class: 'doc-row-note is-error', role: 'alert' })
  const cancel = h('button', { type: 'button', class: 'tandem-button' }, 'Cancel')
  const confirm = h('button', { type: 'button', class: 'tandem-button is-danger' }, 'Delete')
  const box = h('div', { class: 'doc-confirm', role: 'group', 'aria-label': `Delete ${name}` },
    h('p', { class: 'doc-confirm-text' }, 'Delete ', h('strong', {}, `“${name}”`), ' for everyone? Its history goes with it, and whoever has it open is closed out.'),
    h('div', { class: 'doc-confirm-actions' }, cancel, confirm),
    error)
  const back = () => {
    delete li.dataset.mode
    render()
    rowOf(doc.id)?.querySelector('.doc-delete')?.focus()
  }
  cancel.addEventListener('click', back)
  box.addEventListener('keydown', (event) => { if (event.key === 'Escape') back() })
  confirm.addEventListener('click', async () => {
    confirm.disabled = cancel.disabled = true
    try {
      await request(`/api/docs/${encodeURIComponent(doc.id)}`, { method: 'DELETE' })
    } catch (err) {
      if (err.status !== 404) { // 404: gone already, as asked
        confirm.disabled = cancel.disabled = false
        error.textContent = `Could not delete it: ${err.message}`
        return
      }
    }
    const at = known.findIndex((d) => d.id === doc.id)
    if (at >= 0) { known.splice(at, 1); knownPresent.splice(at, 1) }
    delete li.dataset.mode
    render()
    summary.textContent = `Deleted “${name}”`
    filterInput.focus()
    refresh()
  })
  li.replaceChildren(box)
  cancel.focus()
}

// Live updates replace only the rows that changed, so the focus (a keyboard user's place in the
// list) and the pointer's hover stay where they were; a row being renamed or deleted stays as it is.
function update (rows) {
  const old = new Map([...list.querySelectorAll(':scope > .doc-item')].map((li) => [li.dataset.doc, li]))
  const focused = list.contains(document.activeElement) ? document.activeElement.closest('.doc-item')?.dataset.doc : null
  const next = rows.map((fresh) => {
    const current = old.get(fresh.dataset.doc)
    return current && (current.dataset.mode || current.isEqualNode(fresh)) ? current : fresh
  })
  if (next.length !== list.children.length || next.some((li, i) => list.children[i] !== li)) list.replaceChildren(...next)
  if (focused && !list.contains(document.activeElement)) rowOf(focused)?.querySelector('.doc-link')?.focus()
}

/** Whether a document matches the filter: its title or its id contains every word typed. */
function matches (doc, query) {
  const text = `${doc.title || ''} ${doc.id}`.toLowerCase()
  return query.toLowerCase().split(/\s+/).filter(Boolean).every((word) => text.includes(word))
}

/** Draw the list as last loaded, filtered by what the filter box holds. */
function render () {
  const query = filterInput.value.trim()
  if (!known.length) {
    list.replaceChildren(h('li', { class: 'empty' }, 'No documents yet. Name one above to start writing.'))
  } else {
    const shown = known.map((doc, i) => [doc, knownPresent[i]]).filter(([doc]) => matches(doc, query))
    if (!shown.length) list.replaceChildren(h('li', { class: 'empty' }, `No documents match “${query}”.`))
    else update(shown.map(([doc, present]) => row(doc, present)))
  }
  const live = known.filter((d) => d.editors > 0).length
  const count = `${known.length} ${known.length === 1 ? 'document' : 'documents'}`
  const matching = query ? known.filter((doc) => matches(doc, query)).length : null
  summary.textContent = (matching !== null ? `${matching} of ${count}` : count) + (live ? ` · ${live} open now` : '')
}
filterInput.addEventListener('input', render)
filterInput.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && filterInput.value) { filterInput.value = ''; render() }
})

let loading = null
async function refresh () {
  if (loading) return loading
  loading = (async () => {
    try {
      const { docs } = await getJSON('/api/docs')
      knownPresent = await Promise.all(docs.map((doc) => (doc.editors > 0 ? people(doc) : [])))
      known = docs
      render()
      if (nameInput.value.trim()) nameInput.dispatchEvent(new Event('input')) // taken since?
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
