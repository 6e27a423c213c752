// The Comments panel beside the document (the editor page, /embed and the <tandem-editor>
// widget): threads aligned with the text they are about where there is room (stacked in
// document order otherwise), a composer for a new one, replies, resolve and reopen, editing
// one's own, deleting (its author or an admin) after an in-page question.
//
// Threads come from GET /api/docs/{doc}/comments and are fetched again on every `comment`
// notification; their anchors are the server's `comment` marks in the body, which arrive by
// CRDT. Highlights of resolved threads are hidden and the active thread's is emphasised with a
// constructed stylesheet (CSSOM, which a strict Content-Security-Policy allows). Everything a
// person wrote goes into the DOM as text.
import { shortcutLabel } from '../editor/commands.js'
import { COMMENT_SHORTCUT, anchors, pendingRange, selectionAnchor, setPending, threadsAt } from '../editor/comments.js'
import { colorFor, initials } from '../lib/identity.js'
import { ago } from '../lib/time.js'
import { h, setColor } from './dom.js'

const GAP = 8
const TICK_MS = 30000
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

/** What a role may do with comments: read them, write them (comment, write, admin), moderate. */
export function commentRights (role, { viewer = false } = {}) {
  const write = !viewer && ['comment', 'write', 'admin'].includes(role)
  return { comment: write, admin: !viewer && role === 'admin' }
}

/** Whether a keydown is COMMENT_SHORTCUT (matched by key code: whatever Alt makes of the M). */
export function isCommentShortcut (event) {
  return (event.ctrlKey || event.metaKey) && event.altKey && !event.shiftKey && event.code === 'KeyM'
}

/**
 * @param {object} opts
 * @param {import('../lib/client.js').TandemClient} opts.client
 * @param {() => import('prosemirror-view').EditorView} opts.view the editor's view (once built)
 * @param {string|null} opts.role 'read' | 'comment' | 'write' | 'admin' (null: an open hub)
 * @param {string|null} opts.me the user id of this page's token (null without one)
 * @param {boolean} [opts.viewer] view only (a read-only widget): threads without controls
 * @param {Document|ShadowRoot} opts.styleRoot where the highlight stylesheet is adopted
 * @param {() => void} [opts.focusEditor] give the focus back to the document
 */
export function createComments ({ client, view, role, me, viewer = false, styleRoot, focusEditor = () => view().focus() }) {
  const rights = commentRights(role ?? 'write', { viewer })
  const open = role === null // an open hub: everyone is the same anonymous writer
  const api = (path = '', init = {}) => {
    const headers = { ...(init.headers || {}) }
    if (client.token) headers.Authorization = `Bearer ${client.token}`
    if (init.body) {
      headers['Content-Type'] = 'application/json'
      // On an open hub the author's display name is the one this page announced.
      if (open && client.user?.name) init = { ...init, body: JSON.stringify({ ...JSON.parse(init.body), name: client.user.name }) }
    }
    return fetch(`${client.server}/api/docs/${encodeURIComponent(client.doc)}/comments${path}`, { ...init, headers })
      .then(async (response) => {
        if (!response.ok) {
          let message = `${response.status} ${response.statusText}`
          try { message = (await response.json()).error || message } catch {}
          throw Object.assign(new Error(message), { status: response.status })
        }
        return response.status === 204 ? null : response.json()
      })
  }

  const threads = new Map() // id -> thread (the API's object)
  const cards = new Map() // id -> card
  const gone = new Set() // ids once listed and since deleted: their highlight stays hidden
  let active = null
  let loaded = false

  // ---- the panel ----
  const count = h('span', { class: 'tandem-comments-count' })
  const hint = rights.comment
    ? `No comments yet. Select some text and choose Comment (${shortcutLabel(COMMENT_SHORTCUT)}).`
    : 'No comments yet.'
  const empty = h('p', { class: 'tandem-comments-empty' }, hint)
  const error = h('p', { class: 'tandem-comments-error', role: 'alert' })
  const list = h('div', { class: 'tandem-comments-threads' })
  const resolvedCount = h('span', {})
  const resolvedList = h('div', { class: 'tandem-comments-resolved-list' })
  const resolved = h('details', { class: 'tandem-comments-resolved', hidden: true },
    h('summary', {}, 'Resolved ', resolvedCount), resolvedList)
  const el = h('section', { class: 'tandem-comments', 'aria-label': 'Comments', dataset: { state: 'loading' } },
    h('header', { class: 'tandem-comments-head' }, h('h2', { class: 'tandem-comments-title' }, 'Comments'), count),
    error, empty, list, resolved)

  // ---- highlights ----
  const sheet = new CSSStyleSheet()
  styleRoot.adoptedStyleSheets = [...styleRoot.adoptedStyleSheets, sheet]
  const mark = (id) => `.tandem-comment[data-comment="${CSS.escape(id)}"]`
  function restyle () {
    const hidden = [...gone, ...[...threads.values()].filter((t) => t.resolved).map((t) => t.id)]
    const rules = []
    if (hidden.length) rules.push(`:is(${hidden.map(mark).join(', ')}) { background: none; border-bottom-color: transparent; }`)
    if (active && threads.has(active) && !threads.get(active).resolved) rules.push(`${mark(active)} { background: var(--comment-active); border-bottom-color: var(--comment-line); }`)
    sheet.replaceSync(rules.join('\n'))
  }

  // ---- the composer ----
  let pending = null // {from, to, rel} while a new comment is being written
  let reveal = null // an element to scroll into view once placed
  const composerText = h('textarea', { class: 'tandem-comment-input', rows: '2', 'aria-label': 'Comment text', placeholder: 'Add a comment…' })
  const composerQuote = h('p', { class: 'tandem-thread-quote' })
  const composerError = h('p', { class: 'tandem-comment-error', role: 'alert' })
  const composerPost = h('button', { type: 'submit', class: 'tandem-button is-primary' }, 'Comment')
  const composerCancel = h('button', { type: 'button', class: 'tandem-button is-quiet' }, 'Cancel')
  const composer = h('form', { class: 'tandem-thread tandem-composer', 'aria-label': 'New comment', hidden: true },
    composerQuote, composerText, composerError,
    h('div', { class: 'tandem-thread-buttons' }, h('span', { class: 'tandem-spacer' }), composerCancel, composerPost))
  list.append(composer)

  function compose () {
    if (!rights.comment) return
    const v = view()
    const anchor = selectionAnchor(v, client.fragment)
    if (!anchor) return
    pending = { ...anchor, pos: v.state.selection.from }
    composerQuote.textContent = v.state.doc.textBetween(v.state.selection.from, v.state.selection.to, ' ', ' ')
    composerError.textContent = ''
    composer.hidden = false
    setPending(v, anchor.rel)
    render()
    composerText.focus({ preventScroll: true })
    reveal = composer // once it is in its place
  }

  function closeComposer ({ refocus = true } = {}) {
    if (composer.hidden) return
    pending = null
    composer.hidden = true
    composerText.value = ''
    setPending(view(), null)
    layout()
    if (refocus) focusEditor()
  }

  submitOnEnter(composerText, composer, () => closeComposer())
  composerCancel.addEventListener('click', () => closeComposer())
  composer.addEventListener('submit', async (event) => {
    event.preventDefault()
    const body = composerText.value.trim()
    if (!body || !pending) return
    composerPost.disabled = true
    try {
      const made = await api('', { method: 'POST', body: JSON.stringify({ body, anchor: { from: pending.from, to: pending.to } }) })
      closeComposer({ refocus: false })
      if (made?.id) threads.set(made.id, made)
      render()
      activate(made?.id, { focus: true })
      refresh()
    } catch (err) {
      composerError.textContent = `Could not comment: ${err.message}`
    } finally {
      composerPost.disabled = false
    }
  })

  // ---- threads ----
  const isMine = (author) => open || (me !== null && author?.user === me)

  function note (item, extra = null) {
    const name = item.author?.name || item.author?.user || 'Someone'
    // Colours follow the user id, as everywhere; an open hub's anonymous authors, their names.
    const user = item.author?.user
    const avatar = setColor(h('span', { class: 'tandem-note-avatar', 'aria-hidden': 'true' }, initials(name)), colorFor(user && user !== 'anonymous' ? user : name))
    const at = new Date(item.created)
    return h('div', { class: 'tandem-note' },
      h('div', { class: 'tandem-note-head' }, avatar,
        h('span', { class: 'tandem-note-name' }, name),
        h('time', { class: 'tandem-note-time', datetime: Number.isNaN(at.getTime()) ? null : at.toISOString(), title: Number.isNaN(at.getTime()) ? null : absolute.format(at) }, ago(item.created, 'short')),
        item.edited ? h('span', { class: 'tandem-note-edited', title: `Edited ${ago(item.edited)}` }, '(edited)') : null),
      extra || h('p', { class: 'tandem-note-body' }, item.body))
  }

  function makeCard (id) {
    const quote = h('p', { class: 'tandem-thread-quote' })
    const badge = h('p', { class: 'tandem-thread-detached' }, 'On deleted text')
    const head = h('div', { class: 'tandem-thread-main' })
    const replies = h('ol', { class: 'tandem-thread-replies' })
    const status = h('p', { class: 'tandem-comment-error', role: 'alert' })
    const button = (label, cls = 'is-quiet') => h('button', { type: 'button', class: `tandem-button ${cls}` }, label)
    const resolveButton = button('Resolve')
    const editButton = button('Edit')
    const deleteButton = button('Delete')
    const actions = h('div', { class: 'tandem-thread-buttons' }, resolveButton, editButton, deleteButton)
    const confirmYes = button('Delete', 'is-danger')
    const confirmNo = button('Cancel')
    const confirm = h('div', { class: 'tandem-thread-confirm', role: 'group', 'aria-label': 'Delete this thread?', hidden: true },
      h('p', {}, 'Delete this comment and its replies for everyone?'),
      h('div', { class: 'tandem-thread-buttons' }, h('span', { class: 'tandem-spacer' }), confirmNo, confirmYes))
    const replyText = h('textarea', { class: 'tandem-comment-input', rows: '1', 'aria-label': 'Reply', placeholder: 'Reply…' })
    const replyButton = h('button', { type: 'submit', class: 'tandem-button' }, 'Reply')
    const reply = h('form', { class: 'tandem-thread-reply' }, replyText, h('div', { class: 'tandem-thread-buttons' }, h('span', { class: 'tandem-spacer' }), replyButton))
    const card = h('article', { class: 'tandem-thread', tabindex: '-1', dataset: { thread: id } },
      badge, quote, head, replies, status, ...(rights.comment ? [actions, confirm, reply] : []))
    let editing = null

    const run = async (what, fn) => {
      status.textContent = ''
      try {
        await fn()
        await refresh()
      } catch (err) {
        status.textContent = `Could not ${what}: ${err.message}`
      }
    }
    resolveButton.addEventListener('click', () => {
      const t = threads.get(id)
      run(t.resolved ? 'reopen' : 'resolve', async () => {
        const changed = await api(`/${encodeURIComponent(id)}`, { method: 'PATCH', body: JSON.stringify({ resolved: !t.resolved }) })
        threads.set(id, { ...t, ...(changed || {}), resolved: !t.resolved })
        if (!t.resolved && active === id) active = null
        render()
        ;(cards.get(id)?.resolveButton || resolveButton).focus()
      })
    })
    deleteButton.addEventListener('click', () => {
      confirm.hidden = false
      actions.hidden = true
      confirmNo.focus()
    })
    confirmNo.addEventListener('click', () => {
      confirm.hidden = true
      actions.hidden = false
      deleteButton.focus()
    })
    confirmYes.addEventListener('click', () => run('delete', async () => {
      await api(`/${encodeURIComponent(id)}`, { method: 'DELETE' })
      forget(id)
      render()
      focusEditor()
    }))
    // Editing a body (the thread's or one's reply): a form in place of the text; Enter saves,
    // Escape or Cancel gives it back, and the focus returns to the Edit button.
    function editForm (label, value, save, stop) {
      const input = h('textarea', { class: 'tandem-comment-input', rows: '2', 'aria-label': label })
      input.value = value
      const cancel = button('Cancel')
      const form = h('form', { class: 'tandem-thread-edit' }, input,
        h('div', { class: 'tandem-thread-buttons' }, h('span', { class: 'tandem-spacer' }), cancel,
          h('button', { type: 'submit', class: 'tandem-button is-primary' }, 'Save')))
      cancel.addEventListener('click', stop)
      submitOnEnter(input, form, stop)
      form.addEventListener('submit', (event) => {
        event.preventDefault()
        const body = input.value.trim()
        if (body) run('save the comment', async () => { await save(body); stop() })
      })
      const focus = () => {
        input.focus()
        input.setSelectionRange(input.value.length, input.value.length)
      }
      return { form, focus }
    }
    editButton.addEventListener('click', () => {
      const t = threads.get(id)
      const stop = () => { editing = null; update(threads.get(id)); editButton.focus() }
      const edit = editForm('Edit comment', t.body, async (body) => {
        const changed = await api(`/${encodeURIComponent(id)}`, { method: 'PATCH', body: JSON.stringify({ body }) })
        threads.set(id, { ...threads.get(id), ...(changed || {}), body })
      }, stop)
      editing = edit.form
      update(t)
      edit.focus()
    })
    let editingReply = null // {id, form} while one's reply is being edited
    function replyItem (r) {
      const mine = rights.comment && isMine(r.author)
      const form = editingReply?.id === r.id ? editingReply.form : null
      const item = h('li', { dataset: { reply: r.id } }, note(r, form))
      if (mine && !form) {
        const edit = h('button', { type: 'button', class: 'tandem-button is-quiet', 'aria-label': 'Edit reply' }, 'Edit')
        edit.addEventListener('click', () => {
          const stop = () => {
            editingReply = null
            update(threads.get(id))
            replies.querySelector(`li[data-reply="${CSS.escape(r.id)}"] button`)?.focus()
          }
          const editor = editForm('Edit reply', r.body, async (body) => {
            const changed = await api(`/${encodeURIComponent(id)}`, { method: 'PATCH', body: JSON.stringify({ reply: r.id, body }) })
            if (changed?.id) threads.set(id, changed)
          }, stop)
          editingReply = { id: r.id, form: editor.form }
          update(threads.get(id))
          editor.focus()
        })
        item.append(h('div', { class: 'tandem-thread-buttons' }, edit))
      }
      return item
    }
    submitOnEnter(replyText, reply, () => { replyText.value = ''; card.focus() })
    reply.addEventListener('submit', (event) => {
      event.preventDefault()
      const body = replyText.value.trim()
      if (!body) return
      replyButton.disabled = true
      run('reply', async () => {
        await api(`/${encodeURIComponent(id)}/replies`, { method: 'POST', body: JSON.stringify({ body }) })
        replyText.value = ''
      }).finally(() => { replyButton.disabled = false; layout() })
    })
    card.addEventListener('click', (event) => {
      if (!event.target.closest('button, textarea, a')) activate(id)
    })
    card.addEventListener('focusin', () => { if (active !== id) activate(id) })
    card.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && !event.defaultPrevented && !event.target.closest('textarea')) {
        event.preventDefault()
        focusEditor()
      }
    })

    function update (t) {
      const name = t.author?.name || t.author?.user || 'Someone'
      card.setAttribute('aria-label', `Comment by ${name}`)
      card.classList.toggle('is-resolved', !!t.resolved)
      // On deleted text: what it was about when it was written.
      const about = t.quote || t.original_quote || ''
      quote.textContent = about
      quote.hidden = !about
      // A body being edited stays as it is (with its focus) while others' changes arrive.
      if (!editing || !head.contains(editing)) head.replaceChildren(note(t, editing))
      if (!editingReply || !replies.contains(editingReply.form)) {
        const focused = replies.querySelector('button:focus')?.closest('li')?.dataset.reply
        replies.replaceChildren(...(t.replies || []).map(replyItem))
        if (focused) replies.querySelector(`li[data-reply="${CSS.escape(focused)}"] button`)?.focus()
      }
      replies.hidden = !(t.replies || []).length
      resolveButton.textContent = t.resolved ? 'Reopen' : 'Resolve'
      editButton.hidden = !isMine(t.author) || !!editing
      deleteButton.hidden = !(isMine(t.author) || rights.admin)
      reply.hidden = !!t.resolved
    }

    function setDetached (detached) {
      card.classList.toggle('is-detached', detached)
      badge.hidden = !detached
    }

    return { el: card, update, setDetached, resolveButton }
  }

  function forget (id) {
    threads.delete(id)
    cards.get(id)?.el.remove()
    cards.delete(id)
    gone.add(id)
    if (active === id) active = null
  }

  // ---- drawing ----
  function render () {
    const all = [...threads.values()]
    const openOnes = all.filter((t) => !t.resolved)
    const done = all.filter((t) => t.resolved)
    for (const t of all) {
      let card = cards.get(t.id)
      if (!card) {
        card = makeCard(t.id)
        cards.set(t.id, card)
      }
      card.update(t)
      const home = t.resolved ? resolvedList : list
      if (card.el.parentElement !== home) home.append(card.el)
      card.el.classList.toggle('is-active', t.id === active)
    }
    count.textContent = openOnes.length ? String(openOnes.length) : ''
    empty.hidden = !loaded || all.length > 0 || !composer.hidden
    resolved.hidden = done.length === 0
    resolvedCount.textContent = `(${done.length})`
    el.dataset.state = loaded ? 'ready' : 'loading'
    restyle()
    layout()
  }

  // Threads at their anchors, top to bottom, never overlapping; where the panel is narrow (or
  // below the document) in document order. The active thread sits at its anchor when it can.
  let frame = 0
  let placedDoc = null
  let placedAt = new Map()
  const anchored = new Set() // threads whose anchor this page has seen in the document
  function layout () {
    cancelAnimationFrame(frame)
    frame = requestAnimationFrame(place)
  }
  function place () {
    const v = view()
    if (!v || !el.isConnected) return
    if (!cards.size && composer.hidden) { // nothing to place: no walk over a long document
      list.style.removeProperty('min-height')
      return
    }
    // Where the anchors are changes only with the document (not with the caret or a resize).
    if (placedDoc !== v.state.doc) {
      placedDoc = v.state.doc
      placedAt = anchors(placedDoc)
    }
    const at = placedAt
    const synced = client.provider.synced
    const items = []
    const loose = []
    for (const [id, card] of cards) {
      const t = threads.get(id)
      if (!t || t.resolved) continue
      const pos = at.get(id)
      if (pos !== undefined) anchored.add(id)
      // On deleted text: the server says so, or its anchor was in this document and is gone
      // (not a thread whose mark is still on its way here by CRDT).
      const detached = pos === undefined && (t.detached === true || (synced && anchored.has(id)))
      card.setDetached(detached)
      if (pos === undefined || detached) loose.push(card.el)
      else items.push({ el: card.el, pos, id })
    }
    if (!composer.hidden && pending) {
      // The range moves with the text while the comment is being written.
      const range = pendingRange(v.state, client.fragment)
      if (range) pending.pos = range[0]
      items.push({ el: composer, pos: pending.pos, id: null })
    }
    items.sort((a, b) => a.pos - b.pos || (a.id === null ? -1 : 0))
    // The document order is also the order for keyboard and screen reader users.
    reorder(list, [...items.map((i) => i.el), ...loose])
    const aligned = getComputedStyle(el).getPropertyValue('--tandem-comments-layout').trim() === 'aligned'
    el.dataset.layout = aligned ? 'aligned' : 'stacked'
    if (!aligned) {
      for (const child of list.children) child.style.removeProperty('top')
      list.style.removeProperty('min-height')
      revealPlaced()
      return
    }
    const base = list.getBoundingClientRect().top
    const wanted = items.map((item) => {
      try {
        return Math.max(0, v.coordsAtPos(Math.min(item.pos + 1, v.state.doc.content.size)).top - base)
      } catch {
        return 0
      }
    })
    const heights = items.map((item) => item.el.offsetHeight)
    const tops = new Array(items.length)
    const focus = items.findIndex((item) => (item.id === null) || item.id === active)
    const start = focus >= 0 ? focus : 0
    // Down from the focused one (or the first), then up from it, then down again if the top was hit.
    let y = 0
    if (items.length) {
      tops[start] = wanted[start]
      for (let i = start + 1; i < items.length; i++) tops[i] = Math.max(wanted[i], tops[i - 1] + heights[i - 1] + GAP)
      for (let i = start - 1; i >= 0; i--) tops[i] = Math.min(wanted[i], tops[i + 1] - heights[i] - GAP)
      if (tops[0] < 0) {
        tops[0] = 0
        for (let i = 1; i < items.length; i++) tops[i] = Math.max(tops[i], tops[i - 1] + heights[i - 1] + GAP)
      }
      items.forEach((item, i) => item.el.style.setProperty('top', `${Math.round(tops[i])}px`))
      y = tops[items.length - 1] + heights[items.length - 1] + GAP
    }
    for (const child of loose) {
      child.style.setProperty('top', `${Math.round(y)}px`)
      y += child.offsetHeight + GAP
    }
    list.style.setProperty('min-height', `${Math.round(y)}px`)
    revealPlaced()
  }
  function revealPlaced () {
    if (reveal && !reveal.hidden) reveal.scrollIntoView({ block: 'nearest' })
    reveal = null
  }

  function activate (id, { focus = false } = {}) {
    if (id && (!threads.has(id) || threads.get(id).resolved)) id = null
    if (active === id && !focus) return
    active = id
    for (const [cid, card] of cards) card.el.classList.toggle('is-active', cid === id)
    restyle()
    layout()
    if (focus && id) {
      const card = cards.get(id).el
      card.focus({ preventScroll: true })
      requestAnimationFrame(() => card.scrollIntoView({ block: 'nearest' }))
    }
  }

  // ---- loading ----
  let inFlight = null
  let again = false
  async function refresh () {
    if (inFlight) {
      again = true
      return inFlight
    }
    inFlight = (async () => {
      do {
        again = false
        try {
          const fetched = await api()
          const seen = new Set()
          for (const t of fetched || []) {
            if (!t || typeof t.id !== 'string') continue
            seen.add(t.id)
            threads.set(t.id, t)
            gone.delete(t.id)
          }
          for (const id of [...threads.keys()]) if (!seen.has(id)) forget(id)
          loaded = true
          error.textContent = ''
        } catch (err) {
          loaded = true
          error.textContent = `Comments could not be loaded: ${err.message}`
        }
        render()
      } while (again)
    })()
    try {
      await inFlight
    } finally {
      inFlight = null
    }
  }

  // A click in highlighted text opens its thread (the innermost open one); elsewhere, none.
  function openAt (ids) {
    const id = ids.find((i) => threads.has(i) && !threads.get(i).resolved) || null
    activate(id, { focus: !!id })
  }

  const onKey = (event) => {
    if (!isCommentShortcut(event)) return
    event.preventDefault()
    compose()
  }
  const keyTarget = styleRoot
  keyTarget.addEventListener('keydown', onKey)
  const tick = setInterval(() => {
    for (const time of el.querySelectorAll('time[datetime]')) time.textContent = ago(time.dateTime, 'short')
  }, TICK_MS)
  const resize = new ResizeObserver(() => layout())
  const offState = client.on('state', (state) => { if (state === 'connected') refresh() })
  let observed = null

  return {
    el,
    rights,
    compose,
    refresh,
    activate,
    openAt,
    /** Take a notification from /events: a comment on this document refetches the threads. */
    handle (event) {
      if (event?.type === 'comment' && event.doc === client.doc) refresh()
    },
    /** Call on every editor transaction: anchors move with the text; the caret in highlighted
     * text makes its thread the active one (as a click does, without taking the focus). */
    onUpdate (v, tr) {
      if (observed !== v.dom) {
        observed = v.dom
        resize.observe(v.dom)
      }
      if (tr?.selectionSet && threads.size && v.hasFocus()) {
        const ids = threadsAt(v.state, v.state.selection.head).filter((id) => threads.has(id) && !threads.get(id).resolved)
        const next = ids.includes(active) ? active : ids[0] || null
        if (next !== active) activate(next)
      }
      layout()
    },
    destroy () {
      clearInterval(tick)
      resize.disconnect()
      offState()
      keyTarget.removeEventListener('keydown', onKey)
      styleRoot.adoptedStyleSheets = styleRoot.adoptedStyleSheets.filter((s) => s !== sheet)
      el.remove()
    }
  }
}

/** Put `wanted` in this order inside `parent`, never moving the element that has the focus
 * (moving it would lose the focus, and with it what is being typed). */
function reorder (parent, wanted) {
  const now = [...parent.children].filter((c) => wanted.includes(c))
  if (now.length === wanted.length && now.every((c, i) => c === wanted[i])) return
  const pivot = wanted.find((c) => c.matches(':focus-within'))
  if (!pivot) {
    parent.append(...wanted)
    return
  }
  const at = wanted.indexOf(pivot)
  for (const c of wanted.slice(0, at)) parent.insertBefore(c, pivot)
  let ref = pivot
  for (const c of wanted.slice(at + 1)) {
    ref.after(c)
    ref = c
  }
}

/** Enter submits the form, Shift+Enter is a new line, Escape calls `cancel`. */
function submitOnEnter (textarea, form, cancel) {
  textarea.addEventListener('keydown', (event) => {
    if (event.isComposing) return
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault()
      form.requestSubmit()
    } else if (event.key === 'Escape') {
      event.preventDefault()
      cancel()
    }
  })
}


