// Who the local user is: from the token when there is one, else asked once and remembered.
// Names and colours follow the server's rules (lib/rules.js).
import { colorFor, serverRules } from './rules.js'

export { colorFor }

/** The colours a user may pick (six-digit hex: y-prosemirror ignores any other form). */
export function colours () {
  return serverRules().colours
}

const STORAGE_KEY = 'tandem:user'

/**
 * Whether a token's role may edit the body: `read` and `comment` tokens may not (the server
 * refuses their edits); no token (an open hub) or another role may.
 */
export function canEditWith (token) {
  const role = tokenClaims(token)?.role
  return role !== 'read' && role !== 'comment'
}

/** The claims of a JWT, without checking it (the server does that); null if it is not one. */
export function tokenClaims (token) {
  if (!token) return null
  const parts = String(token).split('.')
  if (parts.length !== 3) return null
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/')
    const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4)
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0))
    const claims = JSON.parse(new TextDecoder().decode(bytes))
    return claims && typeof claims === 'object' ? claims : null
  } catch {
    return null
  }
}

export function cleanName (name) {
  return [...String(name || '').replace(/\s+/g, ' ').trim()].slice(0, serverRules().maxName).join('').trim()
}

function storage () {
  try {
    return window.localStorage
  } catch {
    return null // storage disabled, or a sandboxed frame
  }
}

/** The remembered anonymous identity {name, color}, or null if the user was never asked. */
export function rememberedUser () {
  try {
    const saved = JSON.parse(storage()?.getItem(STORAGE_KEY) || 'null')
    const name = cleanName(saved?.name)
    // A colour from another palette (an older Tandem's) gives way to the name's own.
    if (name) return { name, color: colours().includes(saved.color) ? saved.color : colorFor(name) }
  } catch {}
  return null
}

export function rememberUser ({ name, color }) {
  const user = { name: cleanName(name), color: colours().includes(color) ? color : colorFor(name) }
  try {
    storage()?.setItem(STORAGE_KEY, JSON.stringify(user))
  } catch {}
  return user
}

/** The identity a token carries ({name, color}), or null without a token. */
export function tokenUser (token) {
  const claims = tokenClaims(token)
  if (!claims || (!claims.sub && !claims.name)) return null
  return {
    name: cleanName(claims.name || claims.sub),
    color: colorFor(claims.sub || claims.name),
    id: claims.sub ? String(claims.sub) : null
  }
}

/** A guest identity for embeds that cannot ask: remembered so it stays the same. */
export function guestUser () {
  const remembered = rememberedUser()
  if (remembered) return remembered
  const n = Math.floor(1000 + Math.random() * 9000)
  return { name: `Guest ${n}`, color: colours()[n % colours().length] }
}

/** Initials for an avatar: "Ada Lovelace" -> "AL", "guest 12" -> "G1". */
export function initials (name) {
  const words = cleanName(name).split(' ').filter(Boolean)
  if (!words.length) return '?'
  const letters = words.length === 1 ? [...words[0]].slice(0, 2) : [words[0][0], words[1][0]]
  return letters.join('').toUpperCase()
}
