// What the server's notifications mean to the person on this page: entries for an activity list
// ("Ana joined", "Version 4 saved by Ana", "Ben restored version 12", "Edited by Ana and Ben",
// "Ana renamed the document “Plan”", "Ana commented", "Ben replied to a comment")
// and whether each deserves a toast. No DOM here; src/ui/activity.js shows the entries.
//
//   const feed = new ActivityFeed({ self: () => ({ id: tokenUserId, name: client.user?.name }) })
//   feed.on('entry', (entry, { added, toast }) => …)   // a new entry, or the newest one grew
//   client.on('notification', (event) => feed.handle(event))
import { Emitter } from './emitter.js'

export const LIMIT = 50
// Edits within this long of the newest "Edited by …" entry join it instead of adding a line.
const EDIT_WINDOW_MS = 5 * 60 * 1000
// The name the server gives an anonymous connection that has not said who it is yet.
const UNNAMED = 'Anonymous'
const MORE_THAN = 3
// The user every author is on an open hub (the server's anonymous identity).
const SHARED_USER = 'anonymous'

const COMMENT_EVENTS = new Set(['created', 'replied', 'resolved', 'reopened', 'edited', 'deleted'])
const TOASTED_COMMENT_EVENTS = new Set(['created', 'replied', 'resolved', 'reopened'])
const COMMENT_WORDS = {
  created: ' commented',
  replied: ' replied to a comment',
  resolved: ' resolved a comment',
  reopened: ' reopened a comment',
  edited: ' edited a comment',
  deleted: ' deleted a comment'
}

const listFormat = new Intl.ListFormat('en', { style: 'long', type: 'conjunction' })

export class ActivityFeed extends Emitter {
  /**
   * @param {object} opts
   * @param {() => {id?: string|null, name?: string|null}} opts.self who this page is: the user id
   *   of its token when it has one, else the name it announced (null while it has none yet)
   * @param {number} [opts.limit] entries kept, newest first
   * @param {() => number} [opts.now]
   */
  constructor ({ self, limit = LIMIT, now = Date.now }) {
    super()
    this._self = self
    this._limit = limit
    this._now = now
    this._seq = 0
    /** @type {Array<object>} newest first */
    this.entries = []
    /** user id -> display name, learned from every notification that carries one */
    this.names = new Map()
    /** user ids that are this page's own connections (an anonymous page learns them) */
    this.selfIds = new Set()
  }

  /** Take one notification (the JSON object of WS /events). */
  handle (event) {
    if (!event || typeof event !== 'object') return
    switch (event.type) {
      case 'presence': return this._presence(event)
      case 'version': return this._version(event.version)
      case 'restored': return this._restored(event)
      case 'changed': return this._changed(event)
      case 'title': return this._title(event)
      case 'comment': return this._comment(event)
    }
  }

  isSelf (user, name = null) {
    if (this.selfIds.has(user)) return true
    const me = this._self() || {}
    if (me.id) return user === me.id // a token's user: exact
    // Anonymous pages only know the name they announced (or none yet: "Anonymous").
    const mine = me.name || UNNAMED
    if (name != null && name === mine) {
      this.selfIds.add(user)
      return true
    }
    return false
  }

  _person (user, name = null) {
    const known = name || this.names.get(user) || 'Someone'
    if (name) this.names.set(user, name)
    return { user, name: known, self: this.isSelf(user, name) }
  }

  _presence ({ user, name, event: what, initial }) {
    if (typeof user !== 'string' || (what !== 'joined' && what !== 'left')) return
    const person = this._person(user, typeof name === 'string' ? name : null)
    // Who was already there when the page subscribed is not news, and nor is your own arrival.
    if (initial || person.self) return
    this._add({ kind: what, people: [person] }, true)
  }

  _version (version) {
    if (!version || !Number.isInteger(version.version)) return
    const names = version.names && typeof version.names === 'object' ? version.names : {}
    const people = (Array.isArray(version.authors) ? version.authors : [])
      .filter((user) => typeof user === 'string')
      .map((user) => this._person(user, typeof names[user] === 'string' ? names[user] : null))
    // A restore records a version of its own; its `restored` notification tells the story.
    if (version.restored_from != null) return
    const label = typeof version.label === 'string' && version.label ? version.label : null
    const toast = !people.length || people.some((p) => !p.self)
    this._add({ kind: 'version', version: version.version, label, people }, toast)
  }

  _restored ({ version, by, name }) {
    if (!Number.isInteger(version) || typeof by !== 'string') return
    const person = this._person(by, typeof name === 'string' ? name : null)
    this._add({ kind: 'restored', version, people: [person] }, !person.self)
  }

  // `mine`: the page knows it made this change itself (an open hub names nobody in it).
  _title ({ title, by, name, mine }) {
    if (typeof by !== 'string' || (title !== null && typeof title !== 'string')) return
    const person = mine ? { user: by, name: 'you', self: true } : this._person(by, typeof name === 'string' ? name : null)
    this._add({ kind: 'titled', title, people: [person] }, !person.self)
  }

  _comment ({ event: what, by, name }) {
    if (!COMMENT_EVENTS.has(what) || typeof by !== 'string') return
    const named = typeof name === 'string' ? name : null
    // On an open hub every comment's author is the one user `anonymous`: only the name tells who
    // it was (and must not make `anonymous` this page's own id).
    const person = by === SHARED_USER
      ? { user: by, name: named || UNNAMED, self: !this._self()?.id && (named || UNNAMED) === (this._self()?.name || UNNAMED) }
      : this._person(by, named)
    // Others' new comments, replies and resolutions are toasted; edits and deletions only listed.
    this._add({ kind: 'comment', event: what, people: [person] }, !person.self && TOASTED_COMMENT_EVENTS.has(what))
  }

  _changed ({ by }) {
    if (!Array.isArray(by)) return
    const others = by.filter((user) => typeof user === 'string').map((user) => this._person(user))
      .filter((p) => !p.self)
    if (!others.length) return // your own typing
    const newest = this.entries[0]
    const now = this._now()
    if (newest && newest.kind === 'edited' && now - newest.at < EDIT_WINDOW_MS) {
      for (const person of others) {
        if (!newest.people.some((p) => p.user === person.user)) newest.people.push(person)
      }
      newest.at = now
      this.emit('entry', newest, { added: false, toast: false })
      return
    }
    this._add({ kind: 'edited', people: others }, false)
  }

  _add (fields, toast) {
    const entry = { id: ++this._seq, at: this._now(), ...fields }
    this.entries.unshift(entry)
    if (this.entries.length > this._limit) this.entries.length = this._limit
    this.emit('entry', entry, { added: true, toast })
    return entry
  }
}

/**
 * An entry as parts: strings, and {name, self} for people (the UI sets them as text, bolded).
 * "Ana joined", "Version 4 saved by Ana and you", "Ben restored version 12", "Edited by Ana".
 */
export function describe (entry) {
  const who = people(entry.people, entry.kind !== 'version' && entry.kind !== 'edited')
  switch (entry.kind) {
    case 'joined': return [...who, ' joined']
    case 'left': return [...who, ' left']
    case 'version': return [`Version ${entry.version} saved`, ...(who.length ? [' by ', ...who] : [])]
    case 'restored': return [...who, ` restored version ${entry.version}`]
    case 'edited': return ['Edited by ', ...who]
    case 'titled': return entry.title ? [...who, ` renamed the document “${entry.title}”`] : [...who, ' removed the title']
    case 'comment': return [...who, COMMENT_WORDS[entry.event]]
    default: return []
  }
}

/** The plain text of an entry (titles, tests). */
export function describeText (entry) {
  return describe(entry).map((part) => (typeof part === 'string' ? part : part.name)).join('')
}

/** Names as list parts ("Ana, Ben and you"); `start`: they open the sentence ("You …"). */
function people (list, start) {
  if (!list || !list.length) return []
  const shown = list.slice(0, list.length > MORE_THAN ? MORE_THAN - 1 : MORE_THAN)
  const names = shown.map((p, i) => (p.self ? (start && i === 0 ? 'You' : 'you') : p.name))
  const rest = list.length - shown.length
  if (rest) names.push(`${rest} others`)
  let index = 0
  return listFormat.formatToParts(names).map((part) => {
    if (part.type !== 'element') return part.value
    const person = shown[index++]
    return person ? { name: part.value, self: person.self } : part.value
  })
}
