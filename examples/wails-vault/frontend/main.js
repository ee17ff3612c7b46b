import { biometric, button, callBinding, loadConfig, record, scenario, settle, waitFor, windowLabel } from '/common.js'

const config = await loadConfig()
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
  await record(p + '.done', true)
  await waitFor('navigate')
  window.location.href = config.untrusted
}
