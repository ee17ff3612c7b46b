import { bare, biometric, button, callBinding, emitWails, loadConfig, record, scenario, seen, settle, waitFor, windowLabel, withTimeout } from '/common.js'

const config = await loadConfig()
if (bare() && scenario()) {
  // Bare Wails (no capguard): go straight to the untrusted site, whose
  // attacks the test expects to succeed.
  window.location.href = config.untrusted
  await new Promise(() => {})
}
const bio = await biometric()
document.getElementById('label').textContent = window.__TAURI_INTERNALS__.metadata.currentWindow.label

button('status', async () => record('status', await settle(bio.checkStatus())))
button('authenticate', async () => record('authenticate', await settle(bio.authenticate('Open your wallet'))))
button('info', async () => record('vault_info', await settle(callBinding('VaultInfo'))))
button('open', async () => record('open_vault', await settle(callBinding('OpenVault'))))
button('delete', async () => record('delete_vault', await settle(callBinding('DeleteVault'))))
button('untrusted', () => { window.location.href = config.untrusted })

if (scenario()) {
  const p = windowLabel
  await record(p + '.packages', { realBiometricPackage: bio.real, label: window.__TAURI_INTERNALS__.metadata.currentWindow.label })
  await record(p + '.status', await settle(bio.checkStatus()))
  // The simulator's script: match, then cancel, then match (the step-up).
  await record(p + '.authenticate.match', await settle(bio.authenticate('Open your wallet')))
  const cancelled = await settle(bio.authenticate('Open your wallet'))
  await record(p + '.authenticate.cancel', cancelled.ok ? cancelled : { ok: false, code: cancelled.error && cancelled.error.code })
  await record(p + '.vault_info', await settle(callBinding('VaultInfo')))
  await record(p + '.open_vault', await settle(callBinding('OpenVault')))
  await record(p + '.open_vault.again', await settle(callBinding('OpenVault')))
  await record(p + '.delete_vault', await settle(callBinding('DeleteVault')))

  // Events, with the unmodified @tauri-apps/api/event: main may listen
  // and emit (core:event:default); settings listens and hears main.
  const { listen, emit } = await import('@tauri-apps/api/event')
  let heard = null
  const own = new Promise((resolve) => { heard = resolve })
  const unlisten = await listen('vault:changed', (e) => heard({ ok: true, value: { event: e.event, payload: e.payload } }))
  await seen('settings.listening')
  await record(p + '.emit', await settle(emit('vault:changed', { by: 'main' })))
  await record(p + '.event', await withTimeout(own, 10000))
  unlisten()
  // Through the Wails runtime: a Go listener receives it.
  await record(p + '.emit.wails', await settle(emitWails('vault:opened', { by: 'main' })))
  // A raw message (window._wails.invoke) reaches the app's handler.
  window._wails.invoke('hello from main')

  await record(p + '.done', true)
  window.location.href = '/xhook.html'
}
