// The vault view: it opens the vault as soon as it is shown. The
// untrusted site frames it (attack 1); in scenario mode it reports what
// its calls got, named by its ?as= parameter.
import { bare, callBinding, loadConfig, record, scenario, settle, show, withTimeout } from '/common.js'

await loadConfig()
const as = 'framed.' + (new URLSearchParams(window.location.search).get('as') || 'top')
// (Bare Wails sends the result into the window's top-level document: here
// the promise never settles.)
const opened = await withTimeout(settle(callBinding('OpenVault')), 3000)
show('open_vault', opened)
if (scenario()) {
  await record(as + '.open_vault', opened)
  if (!bare()) {
    // Without the page script's frame check: ask for the proof anyway,
    // with the token the page was given (a frame may have one when the
    // site above it sends no Referer). The challenge goes to the window's
    // top-level document, not here, so the token stays unproved.
    const el = document.querySelector('script[data-capguard]')
    const token = el ? JSON.parse(el.getAttribute('data-capguard')).token : ''
    const headers = { 'Capguard-Page-Token': token, 'Content-Type': 'application/json' }
    const start = await fetch('/capguard/start', { method: 'POST', headers, body: '{}' })
    await new Promise((resolve) => setTimeout(resolve, 500))
    const args = { 'call-id': 'framed1', methodName: 'main.VaultService.OpenVault', args: [] }
    const res = await fetch('/wails/runtime?object=0&method=0&args=' + encodeURIComponent(JSON.stringify(args)), { headers })
    await record(as + '.forced', { hadToken: token !== '', start: start.status, status: res.status, text: await res.text() })
  }
  await record(as + '.done', true)
}
