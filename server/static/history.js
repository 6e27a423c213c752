// The history viewer (/d/{doc}/history): a timeline of versions with their authors and times,
// a preview of the selected one, its changes against the previous version, the current document
// or any other version, and a restore button that asks first.
//
// Dependency-free on purpose: it runs as is from /static/history.js, and esbuild bundles it like
// any other page. Names and labels go into the DOM as text only; the preview and the diff are
// HTML the server rendered and sanitized with bleach (DESIGN.md, Document body).
(() => {
  const root = document.getElementById('history')
  if (!root) return
  const doc = root.dataset.doc
  const $ = (id) => document.getElementById(id)
  const list = $('history-versions')
  const status = $('history-status')
  const title = $('history-title')
  const summary = $('history-summary')
  const content = $('history-content')
  const compare = $('history-compare')
  const restoreButton = $('history-restore')
  const tabs = { preview: $('history-tab-preview'), diff: $('history-tab-diff') }

  // With auth enabled the page is opened with ?token=…; the API gets it as a bearer token.
  const token = new URLSearchParams(window.location.search).get('token')
  const base = `/api/docs/${encodeURIComponent(doc)}`

  const state = { versions: [], selected: null, tab: 'preview', compare: 'previous', busy: false }

  async function api (path, init = {}) {
    const headers = { ...(init.headers || {}) }
    if (token) headers.Authorization = `Bearer ${token}`
    if (init.body) headers['Content-Type'] = 'application/json'
    const response = await fetch(base + path, { ...init, headers })
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`
      try { message = (await response.json()).error || message } catch {}
      throw new Error(message)
    }
    return response
  }

  function say (text, kind = 'info') {
    status.textContent = text
    status.dataset.kind = kind
  }

  function el (tag, className, text) {
    const node = document.createElement(tag)
    if (className) node.className = className
    if (text !== undefined) node.textContent = text
    return node
  }

  function ago (iso) {
    const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000)
    if (seconds < 45) return 'just now'
    const minutes = Math.round(seconds / 60)
    if (minutes < 60) return `${minutes} min ago`
    const hours = Math.round(minutes / 60)
    if (hours < 24) return `${hours} h ago`
    return `${Math.round(hours / 24)} d ago`
  }

  const authorsOf = (v) => v.authors.map((user) => v.names[user] || user)
  const find = (number) => state.versions.find((v) => v.version === number)

  function renderTimeline () {
    list.replaceChildren()
    for (const v of [...state.versions].reverse()) {
      const item = el('li', 'history-version')
      const button = el('button', 'history-pick')
      button.type = 'button'
      button.dataset.version = String(v.version)
      if (v.version === state.selected) button.setAttribute('aria-current', 'true')
      const head = el('span', 'history-pick-head')
      head.append(el('strong', null, `Version ${v.version}`))
      if (v.label) head.append(el('span', 'history-label', v.label))
      const time = el('time', 'history-time', ago(v.at))
      time.dateTime = v.at
      time.title = new Date(v.at).toLocaleString()
      const authors = authorsOf(v)
      const meta = el('span', 'history-meta')
      meta.append(
        el('span', 'history-authors', authors.length ? authors.join(', ') : 'no edits'),
        el('span', 'history-added', `+${v.added}`),
        el('span', 'history-removed', `−${v.removed}`)
      )
      button.append(head, time, meta)
      item.append(button)
      list.append(item)
    }
  }

  function renderCompareOptions () {
    const v = state.selected
    compare.replaceChildren()
    const options = []
    if (v > 1) options.push(['previous', `the previous version (${v - 1})`])
    options.push(['current', 'the current document'])
    for (const other of [...state.versions].reverse()) {
      if (other.version !== v) options.push([String(other.version), `version ${other.version}`])
    }
    for (const [value, label] of options) {
      const option = el('option', null, label)
      option.value = value
      compare.append(option)
    }
    if (!options.some(([value]) => value === state.compare)) state.compare = options[0][0]
    compare.value = state.compare
    compare.disabled = false
  }

  async function renderSelection () {
    const v = find(state.selected)
    if (!v) return
    const authors = authorsOf(v)
    title.textContent = v.label ? `Version ${v.version}: ${v.label}` : `Version ${v.version}`
    restoreButton.disabled = false
    tabs.preview.setAttribute('aria-selected', String(state.tab === 'preview'))
    tabs.diff.setAttribute('aria-selected', String(state.tab === 'diff'))
    content.dataset.view = state.tab
    try {
      if (state.tab === 'preview') {
        summary.textContent = `${new Date(v.at).toLocaleString()} · ${authors.join(', ') || 'no edits'}` +
          (v.restored_from ? ` · restored from version ${v.restored_from}` : '')
        const response = await api(`/versions/${v.version}?format=html`)
        content.innerHTML = await response.text() // sanitized by the server (bleach)
        if (!content.textContent.trim()) content.replaceChildren(el('p', 'history-empty', 'This version is empty.'))
      } else {
        let from = v.version
        let to = state.compare
        if (to === 'previous') { from = v.version - 1; to = v.version }
        const diff = await (await api(`/diff?from=${from}&to=${to}`)).json()
        const target = to === 'current' ? 'the current document' : `version ${to}`
        summary.textContent = `From version ${from} to ${target}: ` +
          `${diff.added} characters added, ${diff.removed} removed`
        content.innerHTML = diff.html // built from escaped text and sanitized by the server
        if (!diff.blocks.some((b) => b.op !== 'equal')) {
          content.prepend(el('p', 'history-empty', 'No changes.'))
        }
      }
    } catch (err) {
      say(`Could not load version ${v.version}: ${err.message}`, 'error')
    }
  }

  async function loadVersions ({ select = null } = {}) {
    const response = await api('/versions')
    state.versions = await response.json()
    if (select !== null) state.selected = select
    if (state.selected === null && state.versions.length) {
      state.selected = state.versions[state.versions.length - 1].version
    }
    renderTimeline()
    if (!state.versions.length) {
      say('No versions yet: a version is recorded when an editing burst ends, or when you save one.')
      return
    }
    say(`${state.versions.length} version${state.versions.length === 1 ? '' : 's'}`)
    renderCompareOptions()
    await renderSelection()
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
    const question = `Restore version ${v}? The document will change for everyone editing it ` +
      '(the current content stays in the history, so this can be undone by restoring again).'
    if (!window.confirm(question)) return
    state.busy = true
    restoreButton.disabled = true
    try {
      const made = await (await api('/restore', { method: 'POST', body: JSON.stringify({ version: v }) })).json()
      await loadVersions({ select: made.version })
      say(`Restored version ${v}: the document now matches it (recorded as version ${made.version}).`, 'ok')
    } catch (err) {
      say(`Restore failed: ${err.message}`, 'error')
    } finally {
      state.busy = false
      restoreButton.disabled = false
    }
  })

  $('history-save').addEventListener('submit', async (event) => {
    event.preventDefault()
    const input = $('history-label')
    try {
      const made = await (await api('/versions', {
        method: 'POST',
        body: JSON.stringify({ label: input.value.trim() || null })
      })).json()
      input.value = ''
      await loadVersions({ select: made.version })
      say(`Saved version ${made.version}.`, 'ok')
    } catch (err) {
      say(`Could not save a version: ${err.message}`, 'error')
    }
  })

  // New versions appear while the page is open (others keep editing).
  setInterval(() => {
    if (document.visibilityState === 'visible' && !state.busy) {
      api('/versions').then((r) => r.json()).then((versions) => {
        if (versions.length !== state.versions.length) {
          state.versions = versions
          renderTimeline()
          renderCompareOptions()
        }
      }).catch(() => {})
    }
  }, 10000)

  loadVersions().catch((err) => say(`Could not load the history: ${err.message}`, 'error'))
})()
