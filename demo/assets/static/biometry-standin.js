// capguard's stand-in for @choochmeque/tauri-plugin-biometry-api (the
// JavaScript of tauri-plugin-biometry), used by the demo pages when the npm
// packages are not installed. It makes the same IPC calls; install the real
// package to see it work unmodified.

function invoke(cmd, args = {}) {
  return window.__TAURI_INTERNALS__.invoke(cmd, args)
}

export const BiometryType = Object.freeze({ None: 0, Auto: 1, TouchID: 2, FaceID: 3, Iris: 4 })

export async function checkStatus() {
  return await invoke('plugin:biometry|status')
}

export async function authenticate(reason, options = {}) {
  await invoke('plugin:biometry|authenticate', { reason, options })
}

export async function hasData(options) {
  return await invoke('plugin:biometry|has_data', { options })
}

export async function getData(options) {
  return await invoke('plugin:biometry|get_data', { options })
}

export async function setData(options) {
  await invoke('plugin:biometry|set_data', { options })
}

export async function removeData(options) {
  await invoke('plugin:biometry|remove_data', { options })
}
