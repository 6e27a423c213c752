// Bundles the browser side into server/http/static/ (or --outdir DIR). Deterministic: the same
// lockfile and sources give the same bytes, which `make check-bundle` verifies.
//
// One entry per page (src/pages/NAME.js -> static/NAME.js) plus the widget (static/tandem.js)
// and the stylesheets (static/tandem.css; static/NAME.css for a page with src/styles/NAME.css).
// To add a page, drop src/pages/NAME.js (and its stylesheet) and it is picked up here.
import * as esbuild from 'esbuild'
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
const outIndex = args.indexOf('--outdir')
const outdir = resolve(outIndex >= 0 ? args[outIndex + 1] : join(here, '..', 'server', 'http', 'static'))

const common = {
  absWorkingDir: here,
  bundle: true,
  minify: true,
  legalComments: 'none',
  charset: 'utf8',
  target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
  logLevel: 'warning'
}

// The widget lives in a shadow root, so its stylesheet travels inside tandem.js as a string
// (adopted with CSSOM, which a strict Content-Security-Policy allows).
const widgetCss = await esbuild.build({
  ...common,
  entryPoints: ['src/styles/widget.css'],
  write: false,
  outdir
})
const cssText = widgetCss.outputFiles[0].text

const inlineWidgetCss = {
  name: 'widget-css',
  setup (build) {
    build.onResolve({ filter: /^tandem:widget-css$/ }, (a) => ({ path: a.path, namespace: 'tandem' }))
    build.onLoad({ filter: /.*/, namespace: 'tandem' }, () => ({ contents: cssText, loader: 'text' }))
  }
}

const pages = readdirSync(join(here, 'src', 'pages'))
  .filter((name) => name.endsWith('.js'))
  .sort()
  .map((name) => ({ in: `src/pages/${name}`, out: name.slice(0, -3) }))

await esbuild.build({
  ...common,
  entryPoints: [...pages, { in: 'src/widget/tandem.js', out: 'tandem' }],
  format: 'iife',
  outdir,
  plugins: [inlineWidgetCss]
})

// tandem.css for the pages built on the shared styles; a page with a stylesheet of its own
// (src/styles/NAME.css beside src/pages/NAME.js, e.g. history) gets /static/NAME.css.
const ownStyles = pages
  .filter(({ out }) => existsSync(join(here, 'src', 'styles', `${out}.css`)))
  .map(({ out }) => ({ in: `src/styles/${out}.css`, out }))
await esbuild.build({
  ...common,
  entryPoints: [{ in: 'src/styles/pages.css', out: 'tandem' }, ...ownStyles],
  outdir
})

// Files served as they are.
mkdirSync(outdir, { recursive: true })
for (const name of readdirSync(join(here, 'src', 'assets')).sort()) {
  copyFileSync(join(here, 'src', 'assets', name), join(outdir, name))
}

console.log(`bundled ${pages.length} pages, the widget and the stylesheet into ${outdir}`)
