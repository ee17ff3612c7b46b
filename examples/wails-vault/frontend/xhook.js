// xhook, a library that wraps window.fetch, loaded by xhook.html before
// this script: it must be able to wrap fetch, see the Wails runtime's
// requests, and the calls must still work through it.
import { callBinding, loadConfig, record, scenario, settle, waitFor } from '/common.js'

const config = await loadConfig()
const xhook = window.xhook
let seenRuntime = 0
xhook.before(function (request) {
  if (String(request.url).includes('/wails/runtime')) seenRuntime++
})
if (scenario()) {
  await record('xhook.wrapped', { wrapped: typeof xhook === 'object' && window.fetch !== xhook.fetch })
  await record('xhook.vault_info', await settle(callBinding('VaultInfo')))
  await record('xhook.status', await settle(window.__TAURI_INTERNALS__.invoke('plugin:biometric|status')))
  await record('xhook.saw-runtime', seenRuntime > 0)
  await waitFor('navigate')
  window.location.href = config.untrusted
}
