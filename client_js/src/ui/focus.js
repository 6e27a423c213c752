// Moving the keyboard focus on from a widget that keeps Tab for itself (the document): to the
// next or previous control of the page, in the order Tab would take.

const FOCUSABLE = 'a[href], button, input, select, textarea, summary, [tabindex], [contenteditable="true"]'

function usable (el) {
  if (el.tabIndex < 0 || el.disabled || el.closest('[hidden], [inert]')) return false
  return el.getClientRects().length > 0 // displayed
}

/**
 * Focus the control after (dir 1) or before (dir -1) `from`, skipping what is inside it. At the
 * end of a top-level page it wraps around to its first control (never to <body>); inside a shadow
 * root or a frame it returns false, so that the browser moves on into the host page.
 */
export function moveFocus (from, dir) {
  const root = from.getRootNode()
  const all = [...root.querySelectorAll(FOCUSABLE)].filter((el) => !from.contains(el) && usable(el))
  const follows = (el) => from.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING
  const after = all.filter(follows)
  const before = all.filter((el) => !follows(el))
  let target = dir > 0 ? after[0] : before[before.length - 1]
  if (!target) {
    if (root !== document || window.top !== window) return false
    target = dir > 0 ? before[0] : after[after.length - 1]
  }
  if (!target) return false
  target.focus()
  return true
}
