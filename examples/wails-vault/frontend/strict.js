// A page under a strict Content-Security-Policy (no 'unsafe-inline'):
// strict.html allows the app's own scripts ('self'), strict-nonce.html
// only scripts with the response's nonce ('strict-dynamic'). capguard's
// page script must run in both; an inline script without the nonce must
// not.
import { callBinding, loadConfig, record, scenario, settle, waitFor } from '/common.js'

await loadConfig()
const variant = window.location.pathname === '/strict-nonce.html' ? 'strict.nonce' : 'strict.self'
// The inline script of strict.html carries the nonce only on
// strict-nonce.html; on strict.html, 'self' does not allow it.
const inlineExpected = variant === 'strict.nonce'
if (scenario()) {
  await record(variant + '.csp', { inlineRan: Boolean(window.inlineRan), inlineExpected })
  await record(variant + '.internals', typeof window.__TAURI_INTERNALS__)
  await record(variant + '.vault_info', await settle(callBinding('VaultInfo')))
  await record(variant + '.status', await settle(window.__TAURI_INTERNALS__.invoke('plugin:biometric|status')))
  if (variant === 'strict.self') {
    window.location.href = '/strict-nonce.html'
  } else {
    // After the untrusted site's flood in the main window: this window's
    // calls still work.
    await waitFor('flood-done')
    await record('settings.after-flood', await settle(callBinding('VaultInfo')))
    await record('strict.done', true)
  }
}
