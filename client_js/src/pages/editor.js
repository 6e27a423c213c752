// /d/{doc}: the full editor page.
import { ActivityFeed } from '../lib/activity.js'
import { TandemClient } from '../lib/client.js'
import { canEditWith, colorFor, rememberedUser, tokenClaims, tokenUser } from '../lib/identity.js'
import { createEditor } from '../editor/editor.js'
import { createActivity } from '../ui/activity.js'
import { createComments } from '../ui/comments.js'
import { createTitleField, tabTitle } from '../ui/doctitle.js'
import { h, icon } from '../ui/dom.js'
import { askForName } from '../ui/namedialog.js'
import { basePath, keepPageForOffline, keepTokenInLinks, pageData, pageToken, request, withToken } from '../ui/page.js'
import { createPresence } from '../ui/presence.js'
import { createStatus } from '../ui/status.js'
import { createToasts } from '../ui/toasts.js'
import { askVersionLabel, savedMessage, saveVersion } from '../ui/versiondialogs.js'

const data = pageData()
const doc = data.doc
const token = pageToken()
const fromToken = tokenUser(token)
// Without a token a hub with auth gives nothing: the page says how to get in, takes no typing.
const needsToken = data.auth === 'true' && !token
// The token's role (null without one: an open hub, where everyone writes). A read or comment
// token gets the document without the formatting toolbar (the server refuses its edits); a
// comment token gets the Comment button alone: it writes comments, never the body.
const role = token ? tokenClaims(token)?.role || 'write' : null
const readonly = needsToken || !canEditWith(token)

const client = new TandemClient({
  doc,
  readonly,
  server: window.location.origin + basePath(),
  token,
  eventsPath: data.events || null
})
let comments = null
const editor = createEditor({
  mount: document.getElementById('editor'),
  toolbarMount: document.getElementById('toolbar'),
  client,
  readonly,
  label: `Document ${doc}`,
  comments: {
    canComment: !needsToken && role !== 'read',
    comment: () => comments?.compose(),
    onClick: (ids) => comments?.openAt(ids),
    onUpdate: (view, tr) => comments?.onUpdate(view, tr)
  }
})
// The threads beside the text (below it on narrow screens); without access there are none.
if (!needsToken) {
  comments = createComments({ client, view: () => editor.view, role, me: fromToken?.id ?? null, styleRoot: document })
  document.getElementById('comments').append(comments.el)
}

// "Skip to the document" puts the caret in it (a read-only page: the document's region).
document.querySelector('.skip-link')?.addEventListener('click', (event) => {
  if (readonly) return
  event.preventDefault()
  editor.focus()
})

const status = createStatus(client, role === 'comment' ? { readonlyLabel: 'Connected · comments only' } : {})
document.getElementById('status').replaceWith(status.el)

// The own avatar renames, unless the token says who this is.
const presence = createPresence({ onSelf: fromToken || needsToken ? null : rename })
document.getElementById('presence').replaceWith(presence.el)
client.on('presence', presence.render)
async function rename () {
  const user = await askForName(client.user, { cancellable: true })
  if (user) client.setUser(user)
}

// The title in the header: those who may write rename the document there (Enter or leaving the
// field saves, Escape puts it back); everyone sees a rename as it happens (`title` notifications).
const heading = document.getElementById('doc-title')
// Titles this page saved whose notification has not come back yet: that one is "You renamed…",
// even on an open hub, where the server knows every page only as "Anonymous".
const ownTitles = [] // {title, until}
const titleField = createTitleField({
  doc,
  editable: !readonly,
  onChange: (title) => {
    document.title = tabTitle(title, doc)
    heading.title = title ? `${title} (${doc})` : doc
  },
  // Its notification may come back before the answer to the PATCH does: remember the title as
  // typed, and as the server kept it when that differs (cleaned), for a few seconds.
  onSaving: (title) => ownTitles.push({ title, until: Date.now() + 10000 }),
  onSaved: (title, typed) => { if (title !== typed) ownTitles.push({ title, until: Date.now() + 10000 }) },
  onError: (err) => flash(err.status === 403 ? 'This link cannot rename the document' : `Could not rename: ${err.message}`, 6000)
})
heading.replaceChildren(titleField.el)
// Asked once synced (and after each reconnect, for a rename missed meanwhile): the room is open
// on the server by then, so even a brand-new document has metadata to answer with.
async function loadTitle () {
  try {
    const meta = await (await request(`/api/docs/${encodeURIComponent(doc)}`)).json()
    titleField.set(meta.title ?? null)
  } catch {} // gone meanwhile (another hub's, deleted): the title stays as it was
}
client.on('state', (state) => { if (state === 'connected') loadTitle() })

// Share: copy the document's link (never the token: each person has their own).
const shareButton = document.getElementById('share')
shareButton.prepend(icon('share'))
const feedback = document.getElementById('share-feedback')
let feedbackTimer = 0
function flash (text, ms) { // a short-lived word next to the buttons (a polite live region)
  clearTimeout(feedbackTimer)
  feedback.textContent = text
  feedbackTimer = setTimeout(() => { feedback.textContent = '' }, ms)
}
shareButton.addEventListener('click', async () => {
  const link = `${window.location.origin}${basePath()}/d/${encodeURIComponent(doc)}`
  try {
    await navigator.clipboard.writeText(link)
    flash('Link copied', 2500)
  } catch {
    showLink(link)
  }
})

function showLink (link) {
  const input = h('input', { type: 'text', readonly: true, value: link, class: 'share-link-input', 'aria-label': 'Link to this document' })
  const dialog = h('dialog', { class: 'tandem-dialog', 'aria-label': 'Share' },
    h('form', { method: 'dialog', class: 'tandem-dialog-form' },
      h('h2', { class: 'tandem-dialog-title' }, 'Share this document'),
      h('p', { class: 'tandem-dialog-text' }, 'Anyone who can reach this server can open the document with this link.'),
      input,
      h('div', { class: 'tandem-dialog-actions' }, h('span', { class: 'tandem-spacer' }),
        h('button', { type: 'submit', class: 'tandem-button is-primary' }, 'Done'))))
  dialog.addEventListener('close', () => dialog.remove())
  document.body.append(dialog)
  dialog.showModal()
  input.select()
}

// Download: the content as a file (the links carry this page's token: a download has no headers).
for (const link of document.querySelectorAll('#download a')) {
  link.setAttribute('href', withToken(link.getAttribute('href')))
  link.addEventListener('click', () => document.getElementById('download').removeAttribute('open'))
}

const history = document.getElementById('history')
if (history && data.history !== 'true') history.remove()
else history?.prepend(icon('history'))
keepTokenInLinks() // the logo and History, with auth

// Save version: for those who may write, on a hub that keeps history.
const saveButton = document.getElementById('save-version')
if (saveButton && data.history === 'true' && !readonly) {
  saveButton.hidden = false
  saveButton.prepend(icon('bookmark'))
  saveButton.addEventListener('click', async () => {
    const label = await askVersionLabel()
    if (label === null) return
    try {
      const { made, named } = await saveVersion(doc, label)
      flash(savedMessage(made, named), 4000)
    } catch (err) {
      flash(`Could not save a version: ${err.message}`, 6000)
    }
  })
}

// Notifications from the server (WS /events), when it offers them: quiet toasts and the activity
// panel, and re-dispatched on the document as `tandem:notification` events (detail: the JSON).
const feed = new ActivityFeed({ self: () => ({ id: fromToken?.id, name: client.user?.name }) })
const colors = new Map() // user id -> colour, from the presence bar while they are here
function colorOf ({ user, name, self }) {
  const here = client.presence().find((p) => p.name === name && !p.self)
  if (here?.color) colors.set(user, here.color)
  // With tokens, colours follow the user id (lib/identity.js), as the person's own page picks it.
  return colors.get(user) || (self ? client.user?.color : fromToken ? colorFor(user) : null)
}
let activity = null
if (data.events && !needsToken) { // without access there is no activity to show
  const toasts = createToasts()
  document.body.append(toasts.el)
  activity = createActivity({ button: document.getElementById('activity'), feed, toasts, colorOf })
  document.body.append(activity.panel)
}
client.on('notification', (event) => {
  if (event.type === 'title' && event.doc === doc) {
    const title = typeof event.title === 'string' ? event.title : null
    titleField.set(title)
    const now = Date.now()
    for (let i = ownTitles.length - 1; i >= 0; i--) if (ownTitles[i].until <= now) ownTitles.splice(i, 1)
    const mine = ownTitles.findIndex((own) => own.title === title)
    if (mine >= 0 && event.by === (fromToken?.id ?? event.by)) {
      ownTitles.splice(mine, 1)
      event = { ...event, mine: true }
    }
  }
  feed.handle(event)
  comments?.handle(event)
  document.dispatchEvent(new CustomEvent('tandem:notification', { detail: event }))
})

const notice = document.getElementById('notice')
let reachedServer = false // this page was synced with the server before the state below
client.on('state', (state) => {
  if (state === 'connected') reachedServer = true
  if (state === 'unauthorized' && client.token) notice.textContent = 'Your access link has expired. Ask for a new link to keep editing; what you typed is still on this page.'
  else if (state === 'forbidden') notice.textContent = 'This link does not give access to this document.'
  else if (state === 'deleted') showDeleted()
  else if (!needsToken) notice.textContent = ''
})

// Deleted by an admin: the copy this browser kept is gone (the client dropped it), and the
// server refuses the name until someone creates it on purpose. A writer may do that here.
function showDeleted () {
  const said = reachedServer
    ? 'This document was deleted while you had it open: what is on this page is all that is left of it, and no edit reaches the server any more.'
    : 'This document was deleted. What is on this page was this browser\'s copy of it: it is no longer kept, and no edit reaches the server.'
  notice.replaceChildren(h('span', { class: 'notice-text' }, said))
  if (readonly) return
  const create = h('button', { type: 'button', class: 'tandem-button is-primary notice-action' }, 'Create a new document with this name')
  create.addEventListener('click', async () => {
    create.disabled = true
    try {
      // Naming it creates it (an empty document) and frees the name: README, Offline.
      await request(`/api/docs/${encodeURIComponent(doc)}`, { method: 'PATCH', body: JSON.stringify({ title: null }) })
      window.location.reload()
    } catch (err) {
      create.disabled = false
      notice.append(h('span', { class: 'notice-error', role: 'alert' }, ` Could not create it: ${err.message}`))
    }
  })
  notice.append(' ', create)
}

async function main () {
  keepPageForOffline()
  let user = fromToken || rememberedUser()
  const started = client.start() // the document loads while we ask for a name
  if (!user) user = await askForName()
  await started
  client.setUser(user)
  presence.render(client.presence())
  if (!readonly) editor.focus()
}

if (needsToken) {
  client.halt('unauthorized')
  notice.textContent = 'This document needs an access link: open it with the ?token=… you were given.'
} else {
  main().catch((err) => console.error('tandem: could not start the editor', err))
}
// Kept for the console and for tests: window.tandem.client is the TandemClient.
window.tandem = { client, editor, feed, activity, titleField, comments }
