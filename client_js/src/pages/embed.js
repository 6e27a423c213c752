// /embed/{doc}: the widget filling an <iframe>. The frame's URL may carry ?token=… and ?readonly=1.
import { keepPageForOffline } from '../ui/page.js'
import { defineTandemEditor } from '../widget/element.js'

const params = new URLSearchParams(window.location.search)
for (const el of document.querySelectorAll('tandem-editor')) {
  const token = params.get('token')
  if (token) el.setAttribute('token', token)
  if (['1', 'true', 'yes', ''].includes(params.get('readonly'))) el.setAttribute('readonly', '')
  const name = params.get('name')
  if (name) el.setAttribute('name', name)
}
defineTandemEditor()
keepPageForOffline()
