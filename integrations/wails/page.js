// capguard's page script for Wails windows. The guard (package capwails)
// puts it inline, first in the <head>, of every HTML page the asset server
// serves to a window, with a token issued for that one page load.
//
// It does two things:
//   - it adds the token to the Wails runtime's requests (/wails/runtime), so
//     that the guard knows they come from a page the app served to this
//     window;
//   - it sets up window.__TAURI_INTERNALS__ as Tauri's webviews have it, so
//     that the unmodified @tauri-apps/api and plugin packages send their
//     invoke() calls to capguard's IPC on the asset server.
// The window label in the metadata is for display only: the guard takes
// the caller's window from the host, never from a request.
;(function () {
  'use strict'

  const page = __CAPGUARD_PAGE__
  const nativeFetch = window.fetch.bind(window)

  function withToken(headers) {
    const h = new Headers(headers || {})
    h.set(page.tokenHeader, page.token)
    return h
  }

  function isRuntimeCall(input) {
    try {
      const u = new URL(input instanceof Request ? input.url : String(input), window.location.href)
      return u.origin === window.location.origin && u.pathname === page.runtimePath
    } catch (e) {
      return false
    }
  }

  // The Wails runtime calls fetch(url, {headers}); only its own requests
  // get the token.
  const guardedFetch = function (input, init) {
    if (isRuntimeCall(input)) {
      const opts = Object.assign({}, init || {})
      opts.headers = withToken(opts.headers || (input instanceof Request ? input.headers : undefined))
      return nativeFetch(input, opts)
    }
    return nativeFetch(input, init)
  }
  Object.defineProperty(window, 'fetch', { value: guardedFetch, writable: false, configurable: false })

  // Callbacks by id, for code that uses Tauri's transformCallback.
  const callbacks = new Map()
  function transformCallback(callback, once) {
    const buf = new Uint32Array(1)
    let id
    do {
      window.crypto.getRandomValues(buf)
      id = buf[0]
    } while (callbacks.has(id))
    callbacks.set(id, function (data) {
      if (once) callbacks.delete(id)
      return callback && callback(data)
    })
    return id
  }
  function unregisterCallback(id) { callbacks.delete(id) }
  function runCallback(id, data) {
    const cb = callbacks.get(id)
    if (cb) cb(data)
  }

  // Arguments travel as JSON (Maps as objects, byte arrays as number
  // arrays) or, for bytes, as they are.
  function body(payload) {
    if (payload instanceof ArrayBuffer || ArrayBuffer.isView(payload) || Array.isArray(payload)) {
      return { type: 'application/octet-stream', data: payload }
    }
    const data = JSON.stringify(payload === undefined ? {} : payload, function (_k, v) {
      if (v instanceof Map) return Object.fromEntries(v.entries())
      if (v instanceof Uint8Array) return Array.from(v)
      if (v instanceof ArrayBuffer) return Array.from(new Uint8Array(v))
      if (v !== null && typeof v === 'object' && '__TAURI_TO_IPC_KEY__' in v) return v.__TAURI_TO_IPC_KEY__()
      return v
    })
    return { type: 'application/json', data: data }
  }

  function invoke(cmd, payload, options) {
    const b = body(payload)
    const headers = withToken((options && options.headers) || {})
    headers.set('Content-Type', b.type)
    return nativeFetch(window.location.origin + page.ipcPath + encodeURIComponent(cmd), {
      method: 'POST',
      body: b.data,
      headers: headers,
      credentials: 'omit',
      cache: 'no-store'
    }).then(function (res) {
      const type = (res.headers.get('Content-Type') || '').split(';')[0].trim()
      const read = type === 'application/json' ? res.json() : res.text()
      return read.then(function (data) {
        if (res.headers.get('Tauri-Response') === 'ok') return data
        throw data
      })
    })
  }

  const fixed = function (value) {
    return { value: value, enumerable: true, writable: false, configurable: false }
  }
  const internals = {}
  Object.defineProperties(internals, {
    invoke: fixed(invoke),
    transformCallback: fixed(transformCallback),
    unregisterCallback: fixed(unregisterCallback),
    runCallback: fixed(runCallback),
    callbacks: fixed(callbacks),
    convertFileSrc: fixed(function (path, protocol) {
      return (protocol || 'asset') === 'ipc'
        ? window.location.origin + page.ipcPath + encodeURIComponent(path)
        : window.location.origin + '/' + encodeURIComponent(path)
    }),
    metadata: fixed(Object.freeze({
      currentWindow: Object.freeze({ label: page.window }),
      currentWebview: Object.freeze({ windowLabel: page.window, label: page.window })
    })),
    plugins: fixed(Object.freeze({ path: Object.freeze({ sep: '/', delimiter: ':' }) }))
  })
  Object.defineProperty(window, '__TAURI_INTERNALS__', fixed(internals))
  Object.defineProperty(window, 'isTauri', fixed(true))
})()
