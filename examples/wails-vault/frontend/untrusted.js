// A page of another origin, loaded into the vault's main window. It has
// no page token and no Tauri internals; it tries the app's endpoints
// anyway, forging the window name.
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
  const args = { 'call-id': 'untrusted-1', methodName: 'main.VaultService.OpenVault', args: [] }
  const runtime = 'wails://localhost/wails/runtime?object=0&method=0&args=' + encodeURIComponent(JSON.stringify(args))
  await record('untrusted.origin', window.location.origin.startsWith('http://127.0.0.1:'))
  await record('untrusted.internals', typeof window.__TAURI_INTERNALS__)
  await record('untrusted.own-runtime', await attempt('/wails/runtime?object=0&method=0&args=' + encodeURIComponent(JSON.stringify(args)), { headers: { 'x-wails-window-name': 'main' } }))
  await record('untrusted.wails-runtime', await attempt(runtime, { headers: { 'x-wails-window-name': 'main' } }))
  await record('untrusted.ipc', await attempt('wails://localhost/capguard/ipc/' + encodeURIComponent('plugin:biometric|authenticate'), {
    method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{"reason":"untrusted"}'
  }))
  await record('untrusted.done', true)
})()
