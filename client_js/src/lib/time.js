// Relative times ("just now", "5 minutes ago") for lists that show when something happened.
const formats = new Map()

function format (style) {
  if (!formats.has(style)) formats.set(style, new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style }))
  return formats.get(style)
}

const STEPS = [[60, 'second'], [3600, 'minute'], [86400, 'hour'], [604800, 'day'], [2629800, 'week'], [31557600, 'month'], [Infinity, 'year']]

/**
 * How long ago `when` was (a Date, milliseconds or an ISO string); '' for nothing.
 * @param {'long'|'short'} [style] 'short' gives "5 min. ago"
 */
export function ago (when, style = 'long') {
  const ms = typeof when === 'string' ? Date.parse(when) : Number(when)
  if (!Number.isFinite(ms)) return ''
  const seconds = (ms - Date.now()) / 1000
  if (Math.abs(seconds) < 45) return 'just now'
  let unit = 1
  for (const [limit, name] of STEPS) {
    if (Math.abs(seconds) < limit) return format(style).format(Math.round(seconds / unit), name)
    unit = limit
  }
  return ''
}
