// The server's rules for document ids, display names and colours (server/core/docids.py and
// server/core/names.py), so the browser checks and picks exactly as the server does. Tandem's
// pages carry them in data- attributes; the widget on another site's page finds none there and
// uses rules.json, which tests/integration/test_shared_rules.py keeps equal to the server's.
import { digest } from 'lib0/hash/sha256'
import defaults from './rules.json'

let rules = null

/** {docId: RegExp, colours: string[], maxName: number}, read once (the body exists by then). */
export function serverRules () {
  if (rules) return rules
  const data = document.body?.dataset || {}
  rules = {
    docId: new RegExp(`^(?:${data.docIdPattern || defaults.docIdPattern})$`),
    colours: data.colours ? data.colours.split(' ').filter(Boolean) : defaults.colours,
    maxName: Number(data.maxName) || defaults.maxName
  }
  return rules
}

export function isValidDocId (doc) {
  return serverRules().docId.test(String(doc))
}

/** A stable colour for a user id: the first byte of its SHA-256 picks it, as on the server. */
export function colorFor (id) {
  const { colours } = serverRules()
  return colours[digest(new TextEncoder().encode(String(id)))[0] % colours.length]
}
