// capguard's page script for Wails windows. The guard (package capwails)
// loads it first in every HTML page the asset server serves to a window,
// as an external script of the app's own origin (so that a strict
// Content-Security-Policy allows it; it carries the page's nonce when the
// policy has one), with the page load's token in its data-capguard
// attribute.
//
// It does five things:
//   - it proves to the guard that the page is its window's top-level
//     document: it asks the guard to start, the host runs a challenge in
//     the window's top-level document (never in a frame), and the page
//     sends back what it received. A page in a frame does not even ask;
//   - it adds the token to the Wails runtime's requests and hands the
//     outcome of a binding call, which the guard sends in the response to
//     this page's own request, to this page's Wails runtime;
//   - it adds the token to the raw messages the page posts;
//   - it sets up window.__TAURI_INTERNALS__ (and Tauri's event plugin
//     internals) as Tauri's webviews have them, so that the unmodified
//     @tauri-apps packages send invoke() to capguard's IPC and receive
//     their events;
//   - it leaves window.fetch an ordinary, writable property: libraries
//     that wrap fetch (error trackers, mocks, polyfills) wrap this one.
// The window label in the metadata is for display only: the guard takes
// the caller's window from the host, never from a request.
;(function () {
  'use strict'

  const script = document.currentScript
  const page = JSON.parse(script.getAttribute('data-capguard'))
  const nativeFetch = window.fetch
  const fetchNative = function (input, init) { return nativeFetch.call(window, input, init) }

  let framed = true
  try { framed = window.top !== window.self } catch (e) { framed = true }

  // --- The proof that this page is its window's top-level document. ---
  let state = 'proving' // then 'ready', or 'refused'
  let refusal = ''
  let waiters = []
  function settle(s, why) {
    state = s
    refusal = why || ''
    const w = waiters
    waiters = []
    w.forEach(function (f) { f() })
  }
  function whenReady() {
    if (state === 'proving') return new Promise(function (resolve) { waiters.push(resolve) })
    return Promise.resolve()
  }
  function tokenHeaders(headers) {
    const h = new Headers(headers || {})
    h.set(page.tokenHeader, page.token)
    return h
  }
  function post(path, body) {
    return fetchNative(window.location.origin + page.base + path, {
      method: 'POST', headers: tokenHeaders({ 'Content-Type': 'application/json' }),
      body: body || '{}', credentials: 'omit', cache: 'no-store'
    })
  }
  function start() {
    state = 'proving'
    post('start').then(function (res) {
      if (res.status === 204) return settle('ready')
      if (res.status !== 202) return res.text().then(function (t) { settle('refused', t) })
    }, function (e) { settle('refused', 'capguard: ' + e) })
  }
  if (page.refused) {
    settle('refused', page.refused)
  } else if (framed) {
    settle('refused', "capguard: this page is in a frame: only a window's top-level document may call the app")
  } else {
    Object.defineProperty(window, '__capguard_prove', {
      value: function (load, challenge) {
        if (load !== page.load || state !== 'proving') return
        post('prove', JSON.stringify({ challenge: String(challenge) })).then(function (res) {
          if (res.status === 204) return settle('ready')
          return res.text().then(function (t) { settle('refused', t) })
        }, function (e) { settle('refused', 'capguard: ' + e) })
      },
      writable: false, configurable: false, enumerable: false
    })
    start()
    // Shown again from the back-forward cache: prove again.
    window.addEventListener('pageshow', function (e) { if (e.persisted) start() })
    // Wails runs the host's scripts once a runtime in the window said it is
    // ready; a page without the Wails runtime says it for itself.
    window.addEventListener('load', function () {
      if (!window._wails) postRaw('wails:runtime:ready')
    })
  }
  function refusedResponse() {
    return new Response(refusal, { status: 403, headers: { 'Content-Type': 'text/plain' } })
  }

  // --- The Wails runtime's requests. ---
  function runtimeURL(input) {
    try {
      const u = new URL(input instanceof Request ? input.url : String(input), window.location.href)
      if (u.origin === window.location.origin && u.pathname === page.runtimePath) return u
    } catch (e) {}
    return null
  }
  // deliver hands a binding call's outcome to this page's Wails runtime,
  // as Wails would have (callResultHandler / callErrorHandler).
  function deliver(u, res) {
    let id = ''
    try { id = JSON.parse(u.searchParams.get('args'))['call-id'] } catch (e) {}
    return res.text().then(function (body) {
      const w = window._wails || {}
      if (res.headers.get('Capguard-Call') === 'ok') {
        if (w.callResultHandler) w.callResultHandler(id, body, true)
      } else if (w.callErrorHandler) {
        w.callErrorHandler(id, body, res.headers.get('Capguard-Call-Json') === 'true')
      }
      return new Response(null, { status: 200 })
    })
  }
  function ownsToken(input, init) {
    const h = (init && init.headers) || (input instanceof Request ? input.headers : null)
    return Boolean(h) && new Headers(h).has(page.tokenHeader)
  }
  const guardedFetch = function fetch(input, init) {
    const u = runtimeURL(input)
    // A request that already carries a token is the page's own doing.
    if (!u || ownsToken(input, init)) return fetchNative(input, init)
    return whenReady().then(function () {
      if (state !== 'ready') return refusedResponse()
      const opts = Object.assign({}, init || {})
      opts.headers = tokenHeaders(opts.headers || (input instanceof Request ? input.headers : undefined))
      return fetchNative(input instanceof Request ? input.url : input, opts).then(function (res) {
        return res.headers.get('Capguard-Call') ? deliver(u, res) : res
      })
    })
  }
  window.fetch = guardedFetch

  // --- Raw messages (window._wails.invoke). ---
  let postRaw = function () {}
  const external = window.webkit && window.webkit.messageHandlers && window.webkit.messageHandlers.external
  if (external && typeof external.postMessage === 'function') {
    const postMessage = external.postMessage
    postRaw = function (m) { return postMessage.call(external, m) }
    try {
      Object.defineProperty(external, 'postMessage', {
        value: function (message) {
          const m = String(message)
          if (m.startsWith('wails:')) return postRaw(m)
          // Only the proven page's messages carry its token.
          if (state === 'ready') return postRaw('capguard:' + page.token + ':' + m)
          if (state === 'proving') whenReady().then(function () { if (state === 'ready') postRaw('capguard:' + page.token + ':' + m) })
        },
        writable: true, configurable: true
      })
    } catch (e) {}
  }

  // --- Tauri's internals: invoke(), callbacks, events. ---
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
    return whenReady().then(function () {
      if (state !== 'ready') throw refusal
      const b = body(payload)
      const headers = tokenHeaders((options && options.headers) || {})
      headers.set('Content-Type', b.type)
      return fetchNative(window.location.origin + page.base + 'ipc/' + encodeURIComponent(cmd), {
        method: 'POST', body: b.data, headers: headers, credentials: 'omit', cache: 'no-store'
      })
    }).then(function (res) {
      const type = (res.headers.get('Content-Type') || '').split(';')[0].trim()
      const read = type === 'application/json' ? res.json() : res.text()
      return read.then(function (data) {
        if (res.headers.get('Tauri-Response') !== 'ok') throw data
        if (cmd === 'plugin:event|listen') listening(payload, data)
        return data
      })
    })
  }

  // Events: the page's listeners, delivered by the guard to this page
  // alone over its poll.
  const listeners = new Map() // event id -> event name
  let polling = false
  function listening(payload, id) {
    listeners.set(id, payload && payload.event)
    if (!polling) poll()
  }
  function unregisterListener(_event, id) { listeners.delete(id) }
  function poll() {
    if (listeners.size === 0 || state !== 'ready') { polling = false; return }
    polling = true
    post('events').then(function (res) {
      if (!res.ok) { polling = false; return }
      return res.json().then(function (batch) {
        batch.forEach(function (m) { if (listeners.has(m.event.id)) runCallback(m.handler, m.event) })
        poll()
      })
    }, function () { setTimeout(poll, 1000) })
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
        ? window.location.origin + page.base + 'ipc/' + encodeURIComponent(path)
        : window.location.origin + '/' + encodeURIComponent(path)
    }),
    metadata: fixed(Object.freeze({
      currentWindow: Object.freeze({ label: page.window }),
      currentWebview: Object.freeze({ windowLabel: page.window, label: page.window })
    })),
    plugins: fixed(Object.freeze({ path: Object.freeze({ sep: '/', delimiter: ':' }) }))
  })
  Object.defineProperty(window, '__TAURI_INTERNALS__', fixed(internals))
  Object.defineProperty(window, '__TAURI_EVENT_PLUGIN_INTERNALS__', fixed(Object.freeze({ unregisterListener: unregisterListener })))
  Object.defineProperty(window, 'isTauri', fixed(true))
})()
