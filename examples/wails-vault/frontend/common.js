// Shared by the vault's pages: the Wails runtime for bound methods, the
// unmodified @tauri-apps/plugin-biometric for the biometric plugin, a log
// on the page, and, in scenario mode, the report to the test.
import { Call, Events } from '/wails/runtime.js'

export const windowLabel = document.body.dataset.window

// The full names under which Wails binds the VaultService's methods.
export const method = (name) => 'main.VaultService.' + name
export const callBinding = (name, ...args) => Call.ByName(method(name), ...args)

let config = { modules: false }
export async function loadConfig() {
  config = await (await fetch('/config.json')).json()
  return config
}

// The biometric plugin: the real npm package when the host serves it,
// otherwise the same calls made directly.
export async function biometric() {
  if (config.modules) {
    return { real: true, ...(await import('@tauri-apps/plugin-biometric')) }
  }
  const invoke = window.__TAURI_INTERNALS__.invoke
  return {
    real: false,
    checkStatus: () => invoke('plugin:biometric|status'),
    authenticate: (reason, options) => invoke('plugin:biometric|authenticate', { reason, ...(options || {}) })
  }
}

// settle turns a promise into {ok, value} or {ok: false, error} as data:
// a rejection with a string or an object is kept as it is, an Error is
// its message.
export async function settle(p) {
  try {
    const value = await p
    return value === undefined || value === null ? { ok: true } : { ok: true, value }
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : e }
  }
}

export function show(name, result) {
  const li = document.createElement('li')
  let ok = result && typeof result === 'object' && 'ok' in result ? result.ok : true
  if (ok && result && result.value && result.value.status >= 400) ok = false
  li.className = ok ? 'ok' : 'err'
  li.textContent = name + ': ' + JSON.stringify(result)
  document.getElementById('log').prepend(li)
}

// record shows a step's result on the page and, in scenario mode, posts
// it to the test.
export async function record(name, result) {
  show(name, result)
  if (!config.report) return
  await fetch(config.report + 'report', {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain' },
    body: JSON.stringify({ page: windowLabel, step: name, value: result === undefined ? null : result })
  })
}

// waitFor blocks, in scenario mode, until the test releases a step.
export async function waitFor(step) {
  if (!config.report) return
  const res = await fetch(config.report + 'wait?step=' + encodeURIComponent(step))
  if (!res.ok) throw new Error('the test did not release ' + step + ': ' + res.status)
}

// seen blocks, in scenario mode, until a page reported a step.
export async function seen(step) {
  if (!config.report) return
  await fetch(config.report + 'seen?step=' + encodeURIComponent(step))
}

export function scenario() { return Boolean(config.report) }
export function bare() { return Boolean(config.bare) }

// emit is an event through the Wails runtime (Events.Emit).
export const emitWails = (name, data) => Events.Emit(name, data)

// withTimeout settles a promise, or says it timed out.
export function withTimeout(p, ms) {
  return Promise.race([p, new Promise((resolve) => setTimeout(() => resolve({ ok: false, error: 'timed out' }), ms))])
}

export function button(id, f) {
  document.getElementById(id).addEventListener('click', f)
}

// A raw Wails runtime call, with extra headers: what a forging page does.
export async function rawCall(name, headers) {
  const args = { 'call-id': 'forged-' + Math.random().toString(36).slice(2), methodName: method(name), args: [] }
  const url = '/wails/runtime?object=0&method=0&args=' + encodeURIComponent(JSON.stringify(args))
  const res = await fetch(url, { headers })
  return { status: res.status, text: await res.text() }
}
