// Building DOM without innerHTML and without style attributes (a strict CSP forbids those; per-user
// colours go through CSS custom properties set with the CSSOM instead).

/**
 * h('button', {class: 'x', onclick: fn, 'aria-label': 'Bold'}, 'B')
 * Attributes with null/false values are skipped; `true` sets an empty attribute.
 */
export function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue
    if (key === 'class') el.className = value
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value)
    else if (key === 'dataset') Object.assign(el.dataset, value)
    else if (key === 'style') throw new Error('use classes or setColor(), never style attributes')
    else el.setAttribute(key, value === true ? '' : String(value))
  }
  el.append(...children.flat().filter((c) => c != null && c !== false))
  return el
}

/** Give an element a user's colour (read by the CSS as var(--user-color)). */
export function setColor (el, color) {
  if (/^#[0-9a-fA-F]{6}$/.test(color || '')) el.style.setProperty('--user-color', color)
  return el
}

const SVG = 'http://www.w3.org/2000/svg'

// 24x24 stroke icons, drawn for Tandem.
const ICONS = {
  bold: 'M7 5h6a3.5 3.5 0 0 1 0 7H7z M7 12h7a3.5 3.5 0 0 1 0 7H7z',
  italic: 'M19 5h-8 M13 19H5 M15 5L9 19',
  strike: 'M16.5 7.5C16 5.5 14.3 4.5 12 4.5c-2.6 0-4.5 1.4-4.5 3.4 0 1.5.9 2.5 2.6 3.1 M4 12h16 M8 16.5c.5 1.9 2.2 3 4.3 3 2.7 0 4.7-1.4 4.7-3.5 0-.8-.3-1.5-.8-2',
  code: 'M9 8l-4 4 4 4 M15 8l4 4-4 4',
  link: 'M10 14a4.5 4.5 0 0 0 6.4 0l3-3a4.5 4.5 0 0 0-6.4-6.4l-1.2 1.2 M14 10a4.5 4.5 0 0 0-6.4 0l-3 3a4.5 4.5 0 0 0 6.4 6.4l1.2-1.2',
  bulletList: 'M9.5 6.5h10 M9.5 12h10 M9.5 17.5h10 M4.5 6.5h.01 M4.5 12h.01 M4.5 17.5h.01',
  orderedList: 'M10.5 6.5h9 M10.5 12h9 M10.5 17.5h9 M4 4.5h1.5v4 M4 8.5h3 M4 14.2c.3-.5.9-.8 1.5-.8.9 0 1.5.5 1.5 1.2 0 1.3-3 2.2-3 3.9h3',
  quote: 'M5 6h5v5c0 3-1.5 5-4 6 M14 6h5v5c0 3-1.5 5-4 6',
  codeBlock: 'M4 5h16v14H4z M10 10l-2 2 2 2 M14 10l2 2-2 2',
  rule: 'M4 12h16',
  undo: 'M9 14L4 9l5-5 M4 9h10.5a5.5 5.5 0 0 1 0 11H11',
  redo: 'M15 14l5-5-5-5 M20 9H9.5a5.5 5.5 0 0 0 0 11H13',
  share: 'M8.5 10.5l7-4 M8.5 13.5l7 4 M6 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z M18 9a3 3 0 1 0 0-6 3 3 0 0 0 0 6z M18 21a3 3 0 1 0 0-6 3 3 0 0 0 0 6z',
  history: 'M3.5 12a8.5 8.5 0 1 0 2.5-6 M3 3.5V8h4.5 M12 7.5V12l3 2',
  plus: 'M12 5v14 M5 12h14',
  doc: 'M6 3h8l4 4v14H6z M14 3v4h4 M9 12h6 M9 16h6',
  bell: 'M6 16.5V11a6 6 0 0 1 12 0v5.5l1.5 1.5h-15z M10 20.5a2.2 2.2 0 0 0 4 0',
  bookmark: 'M7 4h10v16l-5-3.5L7 20z',
  pencil: 'M4 20h4L19 9a2.8 2.8 0 0 0-4-4L4 16z M13.5 6.5l4 4',
  close: 'M6.5 6.5l11 11 M17.5 6.5l-11 11',
  trash: 'M4.5 7h15 M9.5 7V4.5h5V7 M6.5 7l1 13h9l1-13 M10 11v5.5 M14 11v5.5',
  search: 'M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13z M15.5 15.5L20 20',
  keyboard: 'M3 6.5h18v11H3z M6.5 10h.01 M10 10h.01 M13.5 10h.01 M17 10h.01 M8 14h8',
  comment: 'M5 5h14a1 1 0 0 1 1 1v9a1 1 0 0 1-1 1h-8l-4 3.5V16H5a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1z M8 9.5h8 M8 12.5h5'
}

export function icon (name) {
  const svg = document.createElementNS(SVG, 'svg')
  svg.setAttribute('viewBox', '0 0 24 24')
  svg.setAttribute('aria-hidden', 'true')
  svg.setAttribute('focusable', 'false')
  svg.setAttribute('class', 'tandem-icon')
  const path = document.createElementNS(SVG, 'path')
  path.setAttribute('d', ICONS[name])
  svg.append(path)
  return svg
}
