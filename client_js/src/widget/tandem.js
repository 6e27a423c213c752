// /static/tandem.js: defines <tandem-editor>. Load it with a plain <script src> on any page.
import { defineTandemEditor } from './element.js'

defineTandemEditor()
