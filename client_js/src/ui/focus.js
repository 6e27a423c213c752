// Moving the keyboard focus on from a widget that keeps Tab for itself (the document): to the
// next or previous control of the page, in the order Tab would take.

const FOCUSABLE = 'a[href], button, input, select, textarea, summary, [tabindex], [contenteditable="true"]'

function usable (el) {
  if (el.tabIndex < 0 || el.disabled || el.closest('[hidden], [inert]')) return false
  return el.getClientRects().length > 0 // displayed
}

/** The usable controls of `root` before and after `from` (its own inside excluded). */
function around (root, from) {
  const all = [...root.querySelectorAll(FOCUSABLE)].filter((el) => !from.contains(el) && usable(el))
  const follows = (el) => from.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING
  return { before: all.filter((el) => !follows(el)), after: all.filter(follows) }
}

/**
 * Focus the control after (dir 1) or before (dir -1) `from`, skipping what is inside it: in its
 * own tree first, then (in the widget's shadow root) in the page around the widget. Past the end
 * of a top-level page it goes round to the other end (never to <body>); in a frame it returns
 * false, so that the browser moves on into the parent page.
 */
export function moveFocus (from, dir) {
  const pick = ({ before, after }) => (dir > 0 ? after[0] : before[before.length - 1])
  const root = from.getRootNode()
  const own = around(root, from)
  const host = root.host
  const page = host ? around(document, host) : null
  let target = pick(own) || (page && pick(page))
  if (!target && window.top === window) {
    const wrap = ({ before, after }) => (dir > 0 ? before[0] : after[after.length - 1])
    target = (page && wrap(page)) || wrap(own)
  }
  if (!target) return false
  target.focus()
  return true
}
