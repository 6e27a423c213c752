// /d/{doc}: the full editor page.
import { ActivityFeed } from '../lib/activity.js'
import { TandemClient } from '../lib/client.js'
import { colorFor, rememberedUser, tokenClaims, tokenUser } from '../lib/identity.js'
import { createEditor } from '../editor/editor.js'
import { createActivity } from '../ui/activity.js'
import { h, icon } from '../ui/dom.js'
import { askForName } from '../ui/namedialog.js'
import { basePath, keepPageForOffline, keepTokenInLinks, pageData, pageToken, withToken } from '../ui/page.js'
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
// A read token gets the document without a toolbar (the server refuses its edits anyway).
const readonly = needsToken || tokenClaims(token)?.role === 'read'

const client = new TandemClient({
  doc,
  readonly,
  server: window.location.origin + basePath(),
  token,
  eventsPath: data.events || null
})
const editor = createEditor({
  mount: document.getElementById('editor'),
  toolbarMount: document.getElementById('toolbar'),
  client,
  readonly,
  label: `Document ${doc}`
})

const status = createStatus(client)
document.getElementById('status').replaceWith(status.el)

// The own avatar renames, unless the token says who this is.
const presence = createPresence({ onSelf: fromToken || needsToken ? null : rename })
document.getElementById('presence').replaceWith(presence.el)
client.on('presence', presence.render)
async function rename () {
  const user = await askForName(client.user, { cancellable: true })
  if (user) client.setUser(user)
}

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
  feed.handle(event)
  document.dispatchEvent(new CustomEvent('tandem:notification', { detail: event }))
})

const notice = document.getElementById('notice')
client.on('state', (state) => {
  if (state === 'unauthorized' && client.token) notice.textContent = 'Your access link has expired. Ask for a new link to keep editing; what you typed is still on this page.'
  else if (state === 'forbidden') notice.textContent = 'This link does not give access to this document.'
  else if (state === 'deleted') notice.textContent = 'This document was deleted while you had it open: what is on this page is all that is left of it, and no edit reaches the server any more.'
  else if (!needsToken) notice.textContent = ''
})

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
window.tandem = { client, editor, feed, activity }
