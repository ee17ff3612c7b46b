// capguard's stand-in for the window.__TAURI_INTERNALS__ object that Tauri
// injects into every webview. With it, the unmodified @tauri-apps/api and
// plugin packages send their invoke() calls to capguard's HTTP bridge
// (ipc.Bridge), in the shape of Tauri's IPC custom protocol.
//
// The bridge fills in the configuration below for one page load
// (Bridge.Bind): the run's invoke key, the page's token, which the bridge
// maps back to the window and webview labels the host gave the page, and the
// bridge's URL. The labels shown to the page (metadata) are informative
// only: the bridge never reads a label from a request. The page must run
// this script inline and before any other script.
;(function () {
  'use strict'

  // Kept in this closure only, so that neither toString() nor a property
  // walk of __TAURI_INTERNALS__ reveals them.
  const config = __CAPGUARD_CONFIG__
  const invokeKey = config.invokeKey
  const token = config.token

  // Callbacks by numeric id, as transformCallback hands them out. The id
  // travels in the Tauri-Callback and Tauri-Error headers.
  const callbacks = new Map()

  function newId() {
    const buf = new Uint32Array(1)
    let id = 0
    do {
      window.crypto.getRandomValues(buf)
      id = buf[0]
    } while (callbacks.has(id))
    return id
  }

  function transformCallback(callback, once) {
    const id = newId()
    callbacks.set(id, function (data) {
      if (once) {
        callbacks.delete(id)
      }
      return callback && callback(data)
    })
    return id
  }

  function unregisterCallback(id) {
    callbacks.delete(id)
  }

  function runCallback(id, data) {
    const callback = callbacks.get(id)
    if (callback) {
      callback(data)
    } else {
      console.warn('[capguard] no callback with id ' + id + ' (was the page reloaded during a call?)')
    }
  }

  // The address of a file or IPC command for a custom protocol. Calls go
  // to the bridge; other protocols keep Tauri's macOS/Linux spelling.
  function convertFileSrc(filePath, protocol) {
    const path = encodeURIComponent(filePath)
    if ((protocol || 'asset') === 'ipc') {
      return config.url + path
    }
    return (protocol || 'asset') + '://localhost/' + path
  }

  // The body of a call: bytes are sent as they are, everything else as
  // JSON, with the conversions Tauri applies (Map as object, byte arrays
  // as arrays of numbers, values that define their own IPC form).
  const toIPCKey = '__TAURI_TO_IPC_KEY__'
  function encodePayload(payload) {
    if (payload instanceof ArrayBuffer || ArrayBuffer.isView(payload) || Array.isArray(payload)) {
      return { contentType: 'application/octet-stream', body: payload }
    }
    const body = JSON.stringify(payload, function (_key, value) {
      if (value instanceof Map) {
        return Object.fromEntries(value.entries())
      }
      if (value instanceof Uint8Array) {
        return Array.from(value)
      }
      if (value instanceof ArrayBuffer) {
        return Array.from(new Uint8Array(value))
      }
      if (typeof value === 'object' && value !== null && toIPCKey in value) {
        return value[toIPCKey]()
      }
      return value
    })
    return { contentType: 'application/json', body: body }
  }

  function decodeResponse(response) {
    const contentType = (response.headers.get('content-type') || '').split(',')[0].split(';')[0].trim()
    if (contentType === 'application/json') {
      return response.json()
    }
    if (contentType === 'text/plain') {
      return response.text()
    }
    return response.arrayBuffer()
  }

  // Sends one call; the answer runs the callback (Tauri-Response: ok) or
  // the error callback (anything else, including the bridge's refusals).
  function sendMessage(message) {
    const encoded = encodePayload(message.payload === undefined ? {} : message.payload)
    const headers = {
      'Content-Type': encoded.contentType,
      'Tauri-Callback': String(message.callback),
      'Tauri-Error': String(message.error),
      'Tauri-Invoke-Key': invokeKey
    }
    headers[config.tokenHeader] = token
    const extra = (message.options && message.options.headers) || {}
    const entries = extra instanceof Headers ? Array.from(extra.entries()) : Object.entries(extra)
    for (const [name, value] of entries) {
      headers[name] = value
    }
    fetch(convertFileSrc(message.cmd, 'ipc'), {
      method: 'POST',
      body: encoded.body,
      headers: headers,
      credentials: 'omit',
      cache: 'no-store'
    })
      .then(function (response) {
        const ok = response.headers.get('Tauri-Response') === 'ok'
        return decodeResponse(response).then(function (data) {
          runCallback(ok ? message.callback : message.error, data)
        })
      })
      .catch(function (e) {
        runCallback(message.error, 'IPC request to capguard failed: ' + (e && e.message ? e.message : String(e)))
      })
  }

  function invoke(cmd, payload, options) {
    return new Promise(function (resolve, reject) {
      const callback = transformCallback(function (result) {
        resolve(result)
        unregisterCallback(error)
      }, true)
      const error = transformCallback(function (e) {
        reject(e)
        unregisterCallback(callback)
      }, true)
      sendMessage({ cmd: cmd, callback: callback, error: error, payload: payload, options: options })
    })
  }

  const internals = {}
  const fixed = function (value) {
    return { value: value, enumerable: true, writable: false, configurable: false }
  }
  Object.defineProperties(internals, {
    invoke: fixed(invoke),
    transformCallback: fixed(transformCallback),
    unregisterCallback: fixed(unregisterCallback),
    runCallback: fixed(runCallback),
    callbacks: fixed(callbacks),
    convertFileSrc: fixed(convertFileSrc),
    ipc: fixed(sendMessage),
    postMessage: fixed(sendMessage),
    metadata: fixed(Object.freeze({
      currentWindow: Object.freeze({ label: config.window }),
      currentWebview: Object.freeze({ windowLabel: config.window, label: config.webview })
    })),
    plugins: fixed(Object.freeze({ path: Object.freeze({ sep: '/', delimiter: ':' }) }))
  })
  Object.defineProperty(window, '__TAURI_INTERNALS__', fixed(internals))
  Object.defineProperty(window, 'isTauri', fixed(true))
})()
