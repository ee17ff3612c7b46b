import { biometric, button, callBinding, emitWails, loadConfig, rawCall, record, scenario, settle, waitFor, windowLabel, withTimeout } from '/common.js'

await loadConfig()
const bio = await biometric()
document.getElementById('label').textContent = window.__TAURI_INTERNALS__.metadata.currentWindow.label

button('status', async () => record('status', await settle(bio.checkStatus())))
button('authenticate', async () => record('authenticate', await settle(bio.authenticate('Open your wallet'))))
button('info', async () => record('vault_info', await settle(callBinding('VaultInfo'))))
button('open', async () => record('open_vault', await settle(callBinding('OpenVault'))))

async function ipcWithToken(cmd, token) {
  const res = await fetch('/capguard/ipc/' + encodeURIComponent(cmd), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Capguard-Page-Token': token },
    body: '{"reason":"forged"}'
  })
  return { status: res.status, text: await res.text() }
}

if (scenario() && !(await loadConfig()).bare) {
  const p = windowLabel
  await record(p + '.packages', { realBiometricPackage: bio.real, label: window.__TAURI_INTERNALS__.metadata.currentWindow.label })
  await record(p + '.status', await settle(bio.checkStatus()))
  await record(p + '.authenticate', await settle(bio.authenticate('Open your wallet')))
  await record(p + '.vault_info', await settle(callBinding('VaultInfo')))
  await record(p + '.open_vault', await settle(callBinding('OpenVault')))
  // Forgeries: the window name Wails's runtime uses to address a window,
  // the window id header the host sets, a window field in the body, a
  // made-up page token.
  await record(p + '.forged.window-name', await settle(rawCall('OpenVault', { 'x-wails-window-name': 'main' })))
  await record(p + '.forged.window-id', await settle(rawCall('OpenVault', { 'x-wails-window-id': '1' })))
  await record(p + '.forged.body', await settle(bio.authenticate('Open your wallet', { window: 'main', label: 'main', webview: 'main' })))
  await record(p + '.forged.token', await settle(ipcWithToken('plugin:biometric|authenticate', 'f'.repeat(32))))
  await record(p + '.ready-for-reload', true)
  await waitFor('reload')
  await record(p + '.authenticate.after-reload', await settle(bio.authenticate('Open your wallet')))
  await record(p + '.open_vault.after-reload', await settle(callBinding('OpenVault')))

  // Events: settings may listen (and hears main's event), not emit.
  const { listen, emit } = await import('@tauri-apps/api/event')
  let heard = null
  const event = new Promise((resolve) => { heard = resolve })
  await listen('vault:changed', (e) => heard({ ok: true, value: { event: e.event, payload: e.payload } }))
  await record(p + '.listening', true)
  await record(p + '.event', await withTimeout(event, 20000))
  await record(p + '.emit', await settle(emit('vault:changed', { by: 'settings' })))
  await record(p + '.emit.wails', await settle(emitWails('vault:wipe', { by: 'settings' })))
  await record(p + '.done', true)
  window.location.href = '/strict.html'
}
