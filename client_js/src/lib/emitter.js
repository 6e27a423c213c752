// A tiny typed-enough event emitter: `on` returns the function that removes the listener.
export class Emitter {
  constructor () {
    /** @type {Map<string, Set<Function>>} */
    this._handlers = new Map()
  }

  on (name, fn) {
    if (!this._handlers.has(name)) this._handlers.set(name, new Set())
    this._handlers.get(name).add(fn)
    return () => this._handlers.get(name)?.delete(fn)
  }

  emit (name, ...args) {
    for (const fn of [...(this._handlers.get(name) || [])]) fn(...args)
  }

  clear () {
    this._handlers.clear()
  }
}
