// The server's notifications (WS /events?docs=…): JSON objects such as
// {"type": "changed", "doc", "by", "at"} or {"type": "presence", …}. Pages open it only when the
// server offers it (the page says so in data-events), so a server without it costs nothing.
export class EventStream {
  /**
   * @param {object} opts
   * @param {string} opts.server base URL of the service
   * @param {string} opts.path the socket's path, e.g. '/events'
   * @param {string[]} opts.docs document ids ('*' for all the caller may read)
   * @param {string|null} opts.token
   * @param {(event: object) => void} opts.onEvent
   * @param {() => void} [opts.onOpen] on every (re)connection: a page may catch up on what it missed
   */
  constructor ({ server, path, docs, token, onEvent, onOpen = null }) {
    this.server = server
    this.path = path
    this.docs = docs
    this.token = token
    this.onEvent = onEvent
    this.onOpen = onOpen
    this.ws = null
    this._attempts = 0
    this._timer = 0
    this._closed = false
  }

  setToken (token) {
    this.token = token
  }

  url () {
    const url = new URL(this.server + this.path)
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
    url.searchParams.set('docs', this.docs.join(','))
    if (this.token) url.searchParams.set('token', this.token)
    return url.href
  }

  start () {
    if (this._closed || this.ws) return
    const ws = new WebSocket(this.url())
    this.ws = ws
    ws.onopen = () => {
      this._attempts = 0
      this.onOpen?.()
    }
    ws.onmessage = (message) => {
      if (typeof message.data !== 'string') return
      let event
      try {
        event = JSON.parse(message.data)
      } catch {
        return
      }
      if (event && typeof event.type === 'string') this.onEvent(event)
    }
    ws.onclose = (close) => {
      this.ws = null
      // 4400-4499: the server decided (bad token, forbidden); retrying cannot help.
      if (this._closed || (close.code >= 4400 && close.code < 4500)) return
      this._attempts += 1
      const delay = Math.min(30000, 500 * 2 ** Math.min(this._attempts, 6))
      this._timer = setTimeout(() => this.start(), delay)
    }
  }

  close () {
    this._closed = true
    clearTimeout(this._timer)
    this.ws?.close()
    this.ws = null
  }
}
