// <tandem-editor server="https://host" doc="notes" token="…" readonly name="Ada">
//
// A self-contained collaborative editor for any page, of any origin. Everything lives in a shadow
// root (styles included), so the host page's CSS and ours do not meet. Attributes:
//   server    the service's base URL (default: the page's origin); the socket is <server>/ws
//   doc       the document id
//   token     a token, when the service requires one
//   readonly  view only: no toolbar, no edits, comments without controls (implied by a token
//             with role "read"; a token with role "comment" may comment but not edit)
//   name      display name when there is no token (default: a remembered guest name)
//   nostore   keep no copy of the document in this browser (default: one is kept in IndexedDB,
//             so unsent edits survive closing the page; README, Offline)
// Properties: `getToken` (async () => token) is asked for a fresh token when the server ends the
// session with 4401 (the token expired or was revoked); a fresh token with another role (read
// instead of write, or back) rebuilds the editor for it. The Comments panel sits beside the
// document (below it when the widget is narrow). `client` is the TandemClient (state, presence,
// the Yjs document).
// Events: 'tandem-state' (detail: {state, unsynced}), 'tandem-presence' (detail: {people}).
import cssText from 'tandem:widget-css'
import { TandemClient } from '../lib/client.js'
import { EventStream } from '../lib/events.js'
import { canEditWith, cleanName, colorFor, guestUser, rememberedUser, tokenClaims, tokenUser } from '../lib/identity.js'
import { isValidDocId } from '../lib/rules.js'
import { createEditor } from '../editor/editor.js'
import { createComments } from '../ui/comments.js'
import { h } from '../ui/dom.js'
import { createPresence } from '../ui/presence.js'
import { createStatus } from '../ui/status.js'

let sheet = null
function styles () {
  if (!sheet) {
    sheet = new CSSStyleSheet()
    sheet.replaceSync(cssText)
  }
  return sheet
}

export class TandemEditorElement extends HTMLElement {
  static get observedAttributes () {
    return ['server', 'doc', 'token', 'readonly', 'name', 'nostore']
  }

  constructor () {
    super()
    this.attachShadow({ mode: 'open' })
    this.shadowRoot.adoptedStyleSheets = [styles()]
    // y-prosemirror asks the editor's root for createRange(), which only documents have
    // (ProseMirror itself supplies getSelection() for shadow roots that lack it).
    this.shadowRoot.createRange = () => document.createRange()
    this.getToken = null
    this.client = null
    this._editor = null
    this._comments = null
    this._events = null
    this._restart = 0
  }

  connectedCallback () {
    this._start()
  }

  disconnectedCallback () {
    this._stop()
  }

  attributeChangedCallback (_name, before, after) {
    if (before === after || !this.isConnected || !this.client) return
    // Several attributes often change together: restart once.
    cancelAnimationFrame(this._restart)
    this._restart = requestAnimationFrame(() => { this._stop(); this._start() })
  }

  _identity (token) {
    const fromToken = tokenUser(token)
    if (fromToken) return fromToken
    const name = cleanName(this.getAttribute('name'))
    if (name) return { name, color: colorFor(name) }
    return rememberedUser() || guestUser()
  }

  _start () {
    const root = this.shadowRoot
    const doc = this.getAttribute('doc') || ''
    if (!isValidDocId(doc)) {
      root.replaceChildren(h('p', { class: 'tandem-widget-error', role: 'alert' },
        doc ? `“${doc}” is not a valid document id.` : 'Set the doc attribute to a document id.'))
      return
    }
    // A read token makes a viewer too (the server would refuse its edits anyway); a comment
    // token may comment but not edit. `readonly` shows the threads without any control.
    const viewer = this.hasAttribute('readonly')
    const token = this.getAttribute('token')
    const role = token ? tokenClaims(token)?.role || 'write' : null
    const readonly = viewer || !canEditWith(token)
    const client = new TandemClient({
      server: this.getAttribute('server') || '',
      doc,
      readonly,
      persist: !this.hasAttribute('nostore'),
      user: (token) => this._identity(token),
      getToken: async () => (this.getToken ? await this.getToken() : null) || this.getAttribute('token')
    })
    this.client = client

    const toolbarMount = h('div', { class: 'tandem-widget-toolbar' })
    const mount = h('div', { class: 'tandem-widget-doc' })
    const side = h('div', { class: 'tandem-widget-comments' })
    const status = createStatus(client, role === 'comment' && !viewer ? { readonlyLabel: 'Connected · comments only' } : {})
    const presence = createPresence()
    // The threads come from the service's HTTP API, which answers with CORS headers the pages
    // of every origin its guard lets in (the same rule as the socket's): the panel asks for them
    // once the socket is in, so a refused page asks nothing.
    const canComment = !viewer && role !== 'read'
    const frame = h('div', { class: 'tandem-widget' + (readonly ? ' is-readonly' : ''), part: 'frame' },
      readonly && !canComment ? null : toolbarMount,
      h('div', { class: 'tandem-widget-body has-comments' }, mount, side),
      h('div', { class: 'tandem-widget-footer' }, status.el, presence.el))
    root.replaceChildren(frame)
    this._editor = createEditor({
      mount,
      client,
      readonly,
      toolbarMount,
      dialogHost: frame,
      label: `Document ${doc}`,
      comments: {
        canComment,
        comment: () => this._comments?.compose(),
        onClick: (ids) => this._comments?.openAt(ids),
        onUpdate: (view, tr) => this._comments?.onUpdate(view, tr)
      }
    })
    const editor = this._editor
    this._startComments(client, editor, side, { role, token, viewer, doc })

    const announce = () => this.dispatchEvent(new CustomEvent('tandem-state', { detail: { state: client.state, unsynced: client.unsynced } }))
    client.on('state', announce)
    client.on('state', (state) => {
      // For whoever embeds the widget: the hub refuses this page's origin until told otherwise.
      if (state === 'forbidden' && client.closeReason.startsWith('origin')) {
        console.warn(`tandem: ${client.server} refuses pages of ${window.location.origin}; ` +
          `its operator can allow them with --allow-origin ${window.location.origin}`)
      }
    })
    client.on('unsynced', announce)
    client.on('token', (fresh) => {
      // A role change (revoked, then getToken() gave a token with the new role): start again as
      // a viewer or an editor, as that token says.
      const role = tokenClaims(fresh)?.role || 'write'
      const viewer = this.hasAttribute('readonly') || !canEditWith(fresh)
      const commenter = !this.hasAttribute('readonly') && role !== 'read'
      if (this.client === client && (viewer !== readonly || commenter !== canComment)) this.setAttribute('token', fresh)
    })
    client.on('presence', (people) => {
      presence.render(people)
      this.dispatchEvent(new CustomEvent('tandem-presence', { detail: { people } }))
    })
    client.start().then(() => {
      if (this.client === client) presence.render(client.presence())
    }).catch((err) => console.error('tandem: could not start', err))
  }

  // The Comments panel beside (or below) the document, following the hub's notifications.
  _startComments (client, editor, side, { role, token, viewer, doc }) {
    const comments = createComments({
      client,
      view: () => editor.view,
      role,
      me: tokenClaims(token)?.sub ?? null,
      viewer,
      styleRoot: this.shadowRoot
    })
    side.append(comments.el)
    this._comments = comments
    // Comment notifications, once the hub has let this page in (the same rules as the document's).
    client.on('state', (state) => {
      if (state !== 'connected' || this._events || this.client !== client) return
      this._events = new EventStream({
        server: client.server,
        path: '/events',
        docs: [doc],
        token: client.token,
        onEvent: (event) => comments.handle(event),
        onOpen: () => comments.refresh()
      })
      this._events.start()
    })
    client.on('token', (fresh) => this._events?.setToken(fresh))
  }

  _stop () {
    this._events?.close()
    this._events = null
    this._comments?.destroy()
    this._comments = null
    this._editor?.destroy()
    this.client?.destroy()
    this._editor = null
    this.client = null
  }
}

export function defineTandemEditor () {
  if (!customElements.get('tandem-editor')) customElements.define('tandem-editor', TandemEditorElement)
}
