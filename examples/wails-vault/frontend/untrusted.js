// A page of another origin, loaded into the vault's main window. It has
// no page token and no Tauri internals; it attacks the app anyway:
// direct calls, framing one of the app's pages to read what it gets, raw
// messages, events, and a flood of page loads. In scenario mode it
// reports what each attack got.
;(async function () {
  const config = await (await fetch('/config.json')).json()
  function show(name, value) {
    const li = document.createElement('li')
    li.textContent = name + ': ' + JSON.stringify(value)
    document.getElementById('log').appendChild(li)
  }
  async function attempt(url, init) {
    try {
      const res = await fetch(url, init)
      return { reached: true, status: res.status, text: await res.text() }
    } catch (e) {
      return { reached: false, error: String(e && e.message ? e.message : e) }
    }
  }
  async function record(step, value) {
    show(step, value)
    if (!config.report) return
    await fetch(config.report + 'report', {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: JSON.stringify({ page: 'untrusted', step: step, value: value })
    })
  }
  async function seen(step) {
    if (config.report) await fetch(config.report + 'seen?step=' + encodeURIComponent(step))
  }
  const app = 'wails://localhost'
  const args = { 'call-id': 'untrusted1', methodName: 'main.VaultService.OpenVault', args: [] }
  const runtime = app + '/wails/runtime?object=0&method=0&args=' + encodeURIComponent(JSON.stringify(args))
  await record('untrusted.origin', window.location.origin.startsWith('http://127.0.0.1:'))
  await record('untrusted.internals', typeof window.__TAURI_INTERNALS__)
  await record('untrusted.own-runtime', await attempt('/wails/runtime?object=0&method=0&args=' + encodeURIComponent(JSON.stringify(args)), { headers: { 'x-wails-window-name': 'main' } }))
  await record('untrusted.wails-runtime', await attempt(runtime, { headers: { 'x-wails-window-name': 'main' } }))
  await record('untrusted.ipc', await attempt(app + '/capguard/ipc/' + encodeURIComponent('plugin:biometric|authenticate'), {
    method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{"reason":"untrusted"}'
  }))

  // Attack 1: frame the app's vault view, which opens the vault when it is
  // shown, and read what the host sends into this, the top-level document.
  const captured = []
  const events = []
  const challenges = []
  window._wails = {
    callResultHandler: function (id, data) { captured.push(String(data)) },
    callErrorHandler: function (id, data) { captured.push('error: ' + data) },
    dispatchWailsEvent: function (e) { events.push(e.name) }
  }
  window.__capguard_prove = function (load, challenge) { challenges.push(challenge) }
  for (const as of ['referer', 'noref']) {
    const frame = document.createElement('iframe')
    if (as === 'noref') frame.referrerPolicy = 'no-referrer'
    frame.src = app + '/vault.html?as=' + as
    document.body.appendChild(frame)
  }
  await seen('framed.referer.done')
  await seen('framed.noref.done')
  await new Promise((resolve) => setTimeout(resolve, 500))
  await record('attack.frame.captured', captured)
  // (Wails also sends its window events here, as to any top-level
  // document: names without data.)
  await record('attack.frame.events', events)
  await record('attack.frame.challenge', challenges.length > 0)
  await record('attack.frame.prove', await attempt(app + '/capguard/prove', {
    method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ challenge: challenges[0] || '' })
  }))

  // Attack 2: raw messages, and Wails's own messages.
  const external = window.webkit && window.webkit.messageHandlers && window.webkit.messageHandlers.external
  for (const m of ['wipe from the untrusted site', 'wails:runtime:ready', 'wails:resize:nowhere', 'wails:drag']) {
    if (external) external.postMessage(m)
  }
  await record('attack.raw', Boolean(external))

  // Attack 3: an event for the app's Go listeners.
  await record('attack.emit', await attempt(app + '/wails/runtime?object=3&method=0&args=' +
    encodeURIComponent(JSON.stringify({ name: 'vault:wipe', data: { by: 'untrusted' } })), { mode: 'no-cors' }))

  // Attack 4: a flood of page loads, without a Referer.
  let sent = 0
  let failed = 0
  for (let i = 0; i < 4300; i += 200) {
    const batch = []
    for (let j = i; j < Math.min(i + 200, 4300); j++) {
      batch.push(fetch(app + '/?flood=' + j, { mode: 'no-cors', referrerPolicy: 'no-referrer', cache: 'no-store' }).then(() => sent++, () => failed++))
    }
    await Promise.all(batch)
  }
  await record('attack.flood', { sent, failed })
  await record('untrusted.done', true)
})()
