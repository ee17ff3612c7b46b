// The script of a window page: buttons that call the JavaScript APIs of
// the biometric plugin and of tauri-plugin-biometry (secure storage), as
// an app would, and a list of what each call returned. It imports the
// real npm packages through the page's import map; when they are not
// installed it falls back to capguard's stand-ins.

let biometric
let biometry
let core
let packages = false
try {
  if (document.body.dataset.packages !== '1') {
    throw new Error('not installed')
  }
  biometric = await import('@tauri-apps/plugin-biometric')
  biometry = await import('@choochmeque/tauri-plugin-biometry-api')
  core = await import('@tauri-apps/api/core')
  packages = true
} catch (e) {
  biometric = await import('/static/biometric-standin.js')
  biometry = await import('/static/biometry-standin.js')
  core = biometric
}

const meta = window.__TAURI_INTERNALS__.metadata
const name = document.body.dataset.name
document.getElementById('label').textContent =
  (name === 'untrusted' ? 'untrusted page · window ' : 'window ') + meta.currentWindow.label
document.getElementById('pkg').textContent = packages ? '@tauri-apps/plugin-biometric' : 'stand-in (packages not installed)'

const results = document.getElementById('results')

function show(call, outcome) {
  const li = document.createElement('li')
  li.className = outcome.ok ? 'ok' : 'err'
  const what = document.createElement('code')
  what.textContent = call
  const arrow = document.createElement('span')
  arrow.className = 'arrow'
  arrow.textContent = outcome.ok ? ' → resolved ' : ' → rejected '
  const value = document.createElement('code')
  value.className = 'value'
  const v = outcome.ok ? outcome.value : outcome.error
  value.textContent = v === undefined ? 'undefined' : JSON.stringify(v)
  li.append(what, arrow)
  // A biometric failure (of authenticate, or of a command's step-up)
  // rejects with {message, code}: show the code the app would branch on.
  // tauri-plugin-biometry rejects with a string: "[code] - message", or
  // "scopeDenied: ...".
  let c = !outcome.ok && v && typeof v === 'object' && typeof v.code === 'string' ? v.code : ''
  if (!outcome.ok && typeof v === 'string') {
    const m = /^\[(\w+)\] - |^(scopeDenied):/.exec(v)
    if (m) c = m[1] || m[2]
  }
  if (c) {
    const code = document.createElement('strong')
    code.className = 'code'
    code.textContent = c + ' '
    li.dataset.code = c
    li.append(code)
  }
  li.append(value)
  results.prepend(li)
  while (results.children.length > 12) {
    results.lastChild.remove()
  }
}

// run makes one call and reports it; it never throws, so that tests get
// the outcome as data: {ok: true, value} or {ok: false, error}.
async function run(call, f) {
  let outcome
  try {
    outcome = { ok: true, value: await f() }
  } catch (e) {
    outcome = { ok: false, error: e instanceof Error ? { message: e.message } : e }
  }
  show(call, outcome)
  return outcome
}

function options() {
  const o = { allowDeviceCredential: document.getElementById('cred').checked }
  const n = parseInt(document.getElementById('attempts').value, 10)
  if (!Number.isNaN(n)) {
    o.maxAttemps = n
  }
  return o
}

window.demo = {
  packages,
  name,
  window: meta.currentWindow.label,
  checkStatus: () => run('checkStatus()', () => biometric.checkStatus()),
  authenticate: (reason, opts) =>
    run(`authenticate(${JSON.stringify(reason)}${opts ? ', ' + JSON.stringify(opts) : ''})`, () => biometric.authenticate(reason, opts)),
  invoke: (cmd, args, opts) => run(`invoke(${JSON.stringify(cmd)})`, () => core.invoke(cmd, args, opts)),
  // tauri-plugin-biometry's API, unmodified: secrets that only a fresh
  // authentication unlocks.
  biometry: {
    checkStatus: () => run('biometry.checkStatus()', () => biometry.checkStatus()),
    authenticate: (reason, opts) => run(`biometry.authenticate(${JSON.stringify(reason)})`, () => biometry.authenticate(reason, opts)),
    setData: (o) => run(`setData(${JSON.stringify({ domain: o.domain, name: o.name })})`, () => biometry.setData(o)),
    getData: (o) => run(`getData(${JSON.stringify({ domain: o.domain, name: o.name })})`, () => biometry.getData(o)),
    hasData: (o) => run(`hasData(${JSON.stringify(o)})`, () => biometry.hasData(o)),
    removeData: (o) => run(`removeData(${JSON.stringify(o)})`, () => biometry.removeData(o))
  }
}

function record() {
  return { domain: document.getElementById('domain').value, name: document.getElementById('name').value }
}

document.getElementById('status').addEventListener('click', () => window.demo.checkStatus())
document.getElementById('auth').addEventListener('click', () =>
  window.demo.authenticate(document.getElementById('reason').value, options()))
document.getElementById('vault').addEventListener('click', () => window.demo.invoke('open_vault'))
document.getElementById('set').addEventListener('click', () =>
  window.demo.biometry.setData({ ...record(), data: document.getElementById('data').value }))
document.getElementById('get').addEventListener('click', () =>
  window.demo.biometry.getData({ ...record(), reason: 'Read ' + record().name }))
document.getElementById('has').addEventListener('click', () => window.demo.biometry.hasData(record()))
document.getElementById('remove').addEventListener('click', () => window.demo.biometry.removeData(record()))
document.getElementById('calls').addEventListener('submit', (e) => e.preventDefault())
document.body.dataset.ready = '1'
