// capguard's stand-in for @tauri-apps/plugin-biometric and
// @tauri-apps/api/core, used by the demo pages when the npm packages are
// not installed. It makes the same IPC calls through
// window.__TAURI_INTERNALS__; install the real packages to see them work
// unmodified.

export function invoke(cmd, args = {}, options) {
  return window.__TAURI_INTERNALS__.invoke(cmd, args, options)
}

export const BiometryType = Object.freeze({ None: 0, TouchID: 1, FaceID: 2, Iris: 3 })

export async function checkStatus() {
  return await invoke('plugin:biometric|status')
}

export async function authenticate(reason, options) {
  await invoke('plugin:biometric|authenticate', { reason, ...options })
}
