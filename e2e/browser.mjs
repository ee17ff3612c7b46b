// Drives Chromium through capguard's demo: the pages call the real
// @tauri-apps/plugin-biometric, @tauri-apps/api and
// @choochmeque/tauri-plugin-biometry-api, the dashboard scripts
// the simulated device. The script records what every call returned and
// what the dashboard showed; the Go test (e2e_test.go) checks it.
//
//   node browser.mjs --dashboard URL --out results.json --screenshot demo.png --profile DIR --app-dir DIR
//
// --app-dir is the src-tauri directory the demo watches (capguard demo DIR
// --watch): the script edits its settings capability to check live
// reload. CHROMIUM names the browser (default /usr/bin/chromium). Exit
// status 0 when the run completed (whatever the calls returned), 1
// otherwise.

import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { chromium } from 'playwright-core'

const { values: opts } = parseArgs({
  options: {
    dashboard: { type: 'string' },
    out: { type: 'string' },
    screenshot: { type: 'string' },
    profile: { type: 'string' },
    'app-dir': { type: 'string' },
    timeout: { type: 'string', default: '150000' }
  }
})
for (const k of ['dashboard', 'out', 'screenshot', 'profile', 'app-dir']) {
  if (!opts[k]) {
    console.error(`browser.mjs: --${k} is required`)
    process.exit(2)
  }
}

// The flags the project runs Chromium with: headless, no sandbox (CI runs
// as root), and no background traffic (the machine has no network).
const flags = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

const results = { steps: [], console: [] }
const step = (name, value) => {
  results.steps.push({ name, value })
  console.error(`browser.mjs: ${name}: ${JSON.stringify(value)}`)
  return value
}

const deadline = setTimeout(() => {
  console.error('browser.mjs: timed out')
  process.exit(1)
}, Number(opts.timeout))

const context = await chromium.launchPersistentContext(opts.profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: flags,
  viewport: { width: 1600, height: 1000 },
  timeout: 60000
})
try {
  const page = context.pages()[0] || (await context.newPage())
  page.setDefaultTimeout(30000)
  page.on('console', (m) => results.console.push(`${m.type()}: ${m.text()}`))
  page.on('pageerror', (e) => results.console.push(`pageerror: ${e.message}`))

  await page.goto(opts.dashboard)
  await page.waitForSelector('body[data-ready="1"]')
  const state = await page.evaluate(() => window.dashboard.state())
  results.windows = state.windows

  const frames = {}
  for (const w of state.windows) {
    const frame = page.frame({ name: w.name })
    if (!frame) throw new Error(`no frame for ${w.name}`)
    await frame.waitForSelector('body[data-ready="1"]')
    frames[w.name] = frame
  }
  // A call through the page's own buttons' code path (window.demo), which
  // uses the npm packages; the result is {ok, value} or {ok, error}.
  const call = (name, method, ...args) => frames[name].evaluate(([m, a]) => window.demo[m](...a), [method, args])
  const device = async () => (await page.evaluate(() => window.dashboard.state())).device
  const dashboard = (method, ...args) => page.evaluate(([m, a]) => window.dashboard[m](...a), [method, args])
  // clickAndWait clicks a dashboard button and waits for the POST it sends
  // to be answered: the handler's fetch runs after click() returns, so a
  // read of the device state right after a bare click can race it.
  const clickAndWait = async (selector, path) => {
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === path),
      page.click(selector)
    ])
  }

  step('packages', Object.fromEntries(await Promise.all(
    Object.keys(frames).map(async (n) => [n, await frames[n].evaluate(() => window.demo.packages)]))))
  step('labels', Object.fromEntries(await Promise.all(
    Object.keys(frames).map(async (n) => [n, await frames[n].evaluate(() => window.__TAURI_INTERNALS__.metadata.currentWindow.label)]))))
  step('isTauri', await frames.main.evaluate(async () => (await import('@tauri-apps/api/core')).isTauri()))

  // main: may check and authenticate.
  step('main.checkStatus', await call('main', 'checkStatus'))
  step('main.authenticate.match', await call('main', 'authenticate', 'Open your wallet'))
  // The next touch is scripted with the button of main's card.
  await clickAndWait('[data-window="main"] .next button[data-outcome="user-cancel"]', '/api/device/next')
  step('device.pending.after-click', (await device()).pending)
  step('main.authenticate.cancel', await call('main', 'authenticate', 'Open your wallet'))

  // Step-up: the app's capguard.json makes open_vault from main prompt
  // ("Unlock your vault") unless main was recognized less than 60 s ago.
  // attempts() measures the device's authentication attempts a call
  // made, and the reason of the last one.
  const attempts = async (f) => {
    const before = (await device()).authenticate
    const value = await f()
    const d = await device()
    const last = d.calls.filter((c) => c.method === 'authenticate').pop()
    return { value, attempts: d.authenticate - before, reason: last ? last.reason : null }
  }
  const live = async () => (await page.evaluate(() => window.dashboard.state())).live
  let r = await attempts(() => call('main', 'invoke', 'open_vault'))
  step('main.open_vault', r.value)
  step('stepup.first', { attempts: r.attempts, reason: r.reason })
  r = await attempts(() => call('main', 'invoke', 'open_vault'))
  step('main.open_vault.again', r.value)
  step('stepup.again', { attempts: r.attempts })
  // Forget the memory and script a cancel: the call is rejected with the
  // biometric error and open_vault's handler does not run.
  await clickAndWait('#forget', '/api/stepup/forget')
  await clickAndWait('[data-window="main"] .next button[data-outcome="user-cancel"]', '/api/device/next')
  const opened = (await live()).vaultOpened
  r = await attempts(() => call('main', 'invoke', 'open_vault'))
  step('main.open_vault.cancel', r.value)
  step('stepup.cancel', { attempts: r.attempts, reason: r.reason, handlerRuns: (await live()).vaultOpened - opened })
  step('main.result-code', await frames.main.$eval('#results li', (li) => li.dataset.code || null))
  // Two calls at once share one prompt.
  r = await attempts(() => frames.main.evaluate(() => Promise.all([window.demo.invoke('open_vault'), window.demo.invoke('open_vault')])))
  step('main.open_vault.concurrent', r.value)
  step('stepup.concurrent', { attempts: r.attempts })
  // A secret in the arguments (remembered: no prompt) must never reach
  // the audit log.
  const secret = 'e2e-secret-' + randomBytes(8).toString('hex')
  step('audit.secret', secret)
  step('main.open_vault.secret', await call('main', 'invoke', 'open_vault', { password: secret }))
  step('settings.open_vault.secret', await call('settings', 'invoke', 'open_vault', { password: secret }))
  step('stepup.vault-opened', (await live()).vaultOpened)

  // Five misses in a row lock biometry.
  await dashboard('next', 'no-match', 5)
  step('main.authenticate.nomatch-1', await call('main', 'authenticate', 'Open your wallet', { maxAttemps: 3 }))
  step('main.authenticate.nomatch-2', await call('main', 'authenticate', 'Open your wallet', { maxAttemps: 3 }))
  step('main.checkStatus.locked', await call('main', 'checkStatus'))
  step('main.authenticate.locked', await call('main', 'authenticate', 'Open your wallet'))
  await dashboard('unlock')
  step('main.checkStatus.unlocked', await call('main', 'checkStatus'))

  // Secrets with the unmodified @choochmeque/tauri-plugin-biometry-api:
  // main may keep records of app.capguard.vault (not its recovery-code),
  // each get is one authentication, and removing a record needs a signed
  // step-up (the example's capguard.json).
  const bcall = (name, method, ...args) => frames[name].evaluate(([m, a]) => window.demo.biometry[m](...a), [method, args])
  const rec = (name, extra = {}) => ({ domain: 'app.capguard.vault', name, ...extra })
  const vaultSecret = 'e2e-vault-' + randomBytes(8).toString('hex')
  step('biometry.secret', vaultSecret)
  step('biometry.checkStatus', await bcall('main', 'checkStatus'))
  step('biometry.has.before', await bcall('main', 'hasData', rec('wallet-key')))
  let d0 = await device()
  step('biometry.set', await bcall('main', 'setData', rec('wallet-key', { data: vaultSecret })))
  step('biometry.has.after', await bcall('main', 'hasData', rec('wallet-key')))
  step('biometry.get', await bcall('main', 'getData', rec('wallet-key', { reason: 'Open your wallet key' })))
  step('biometry.prompts', (await device()).vault - d0.vault)
  await dashboard('next', 'user-cancel', 1)
  step('biometry.get.cancel', await bcall('main', 'getData', rec('wallet-key', { reason: 'Open your wallet key' })))
  d0 = await device()
  step('biometry.get.denied-name', await bcall('main', 'getData', rec('recovery-code', { reason: 'r' })))
  step('biometry.get.other-domain', await bcall('main', 'getData', { domain: 'com.other.app', name: 'wallet-key', reason: 'r' }))
  step('biometry.set.denied-name', await bcall('main', 'setData', rec('recovery-code', { data: 'x' })))
  step('biometry.outside.device', (await device()).vault - d0.vault)
  await dashboard('next', 'lockout', 1)
  step('biometry.get.lockout', await bcall('main', 'getData', rec('wallet-key', { reason: 'Open your wallet key' })))
  await dashboard('unlock')
  await dashboard('next', 'hooked-success', 1)
  step('biometry.get.hooked', await bcall('main', 'getData', rec('wallet-key', { reason: 'Open your wallet key' })))
  // A hooked success does not pass the signed step-up of remove_data.
  await dashboard('next', 'hooked-success', 1)
  step('biometry.remove.hooked', await bcall('main', 'removeData', rec('wallet-key')))
  step('biometry.has.after-hooked', await bcall('main', 'hasData', rec('wallet-key')))
  d0 = await device()
  step('biometry.remove.signed', await bcall('main', 'removeData', rec('wallet-key')))
  step('biometry.signatures', (await device()).sign - d0.sign)
  step('biometry.has.after-remove', await bcall('main', 'hasData', rec('wallet-key')))
  // A new enrollment invalidates what was stored before it.
  step('biometry.set.again', await bcall('main', 'setData', rec('wallet-key', { data: vaultSecret })))
  await clickAndWait('#enroll', '/api/device/enroll')
  step('biometry.get.reenrolled', await bcall('main', 'getData', rec('wallet-key', { reason: 'Open your wallet key' })))
  step('biometry.result-code', await frames.main.$eval('#results li', (li) => li.dataset.code || null))
  step('biometry.has.reenrolled', await bcall('main', 'hasData', rec('wallet-key')))
  step('biometry.settings.get', await bcall('settings', 'getData', rec('wallet-key', { reason: 'r' })))
  step('biometry.untrusted.get', await bcall('untrusted', 'getData', rec('wallet-key', { reason: 'r' })))

  // settings: may check, may not authenticate; the device is not asked.
  step('settings.checkStatus', await call('settings', 'checkStatus'))
  let before = (await device()).authenticate
  step('settings.authenticate', await call('settings', 'authenticate', 'Open your wallet'))
  step('settings.open_vault', await call('settings', 'invoke', 'open_vault'))
  step('settings.device-attempts', (await device()).authenticate - before)

  // The untrusted page, in window main but from a remote origin: nothing.
  before = (await device()).authenticate
  step('untrusted.checkStatus', await call('untrusted', 'checkStatus'))
  step('untrusted.authenticate', await call('untrusted', 'authenticate', 'Open your wallet'))
  step('untrusted.open_vault', await call('untrusted', 'invoke', 'open_vault'))
  step('untrusted.device-attempts', (await device()).authenticate - before)

  // Spoofing from the settings page: claiming main's label in headers,
  // presenting main's token (read here from main's page, which the
  // settings page itself cannot read), a forged token, a wrong invoke key.
  const mainHTML = await frames.main.content()
  const mainToken = (mainHTML.match(/"token":"([0-9a-f]+)"/) || [])[1]
  step('spoof.main-token-found', Boolean(mainToken))
  before = (await device()).authenticate
  const auth = ['plugin:biometric|authenticate', { reason: 'Open your wallet' }]
  step('spoof.label-headers', await call('settings', 'invoke', ...auth, {
    headers: { 'Capguard-Window': 'main', 'Capguard-Webview': 'main', 'Tauri-Window-Label': 'main' }
  }))
  step('spoof.main-token', await call('settings', 'invoke', ...auth, { headers: { 'Capguard-Webview-Token': mainToken } }))
  step('spoof.forged-token', await call('settings', 'invoke', ...auth, { headers: { 'Capguard-Webview-Token': '0'.repeat(32) } }))
  step('spoof.invoke-key', await call('settings', 'invoke', ...auth, { headers: { 'Tauri-Invoke-Key': 'f'.repeat(32) } }))
  step('spoof.untrusted-main-token', await call('untrusted', 'invoke', ...auth, { headers: { 'Capguard-Webview-Token': mainToken } }))
  step('spoof.device-attempts', (await device()).authenticate - before)

  // The settings page cannot read main's page either (another origin).
  step('settings.read-main', await frames.settings.evaluate(async (url) => {
    try {
      const r = await fetch(url)
      return { ok: true, status: r.status, text: (await r.text()).slice(0, 40) }
    } catch (e) {
      return { ok: false, error: String(e) }
    }
  }, state.windows.find((w) => w.name === 'main').url))

  // The matrix before the capabilities change.
  await page.waitForFunction(() => document.querySelectorAll('#feed tr').length >= 20)
  const cells = () => page.$$eval('#matrix tbody tr', (rows) => rows.map((r) => ({
    page: r.dataset.page,
    cells: Array.from(r.querySelectorAll('td[data-command]')).map((td) => [td.dataset.command, td.classList.contains('yes')])
  })))
  step('matrix.cells', await cells())
  step('matrix.stepup', await page.$$eval('#matrix td.stepup', (tds) => tds.map((td) => [td.closest('tr').dataset.page, td.dataset.command])))

  // Live reload: grant settings biometric:allow-authenticate in the
  // watched directory; the dashboard reports the reload, rebuilds the
  // matrix, and the settings page's next call is allowed.
  const settingsCap = join(opts['app-dir'], 'capabilities', 'settings.toml')
  const reloads = async () => (await page.evaluate(() => window.dashboard.state())).entries.filter((e) => e.kind === 'reload')
  const reloadRows = (n) => page.waitForFunction((n) => document.querySelectorAll('#feed tr[data-kind="reload"]').length >= n, n)
  writeFileSync(settingsCap, 'identifier = "settings-window"\nwindows = ["settings"]\npermissions = ["biometric:allow-status", "biometric:allow-authenticate"]\n')
  await reloadRows(1)
  await page.waitForFunction(() => document.getElementById('matrix').dataset.version === '2')
  step('watch.reload', (await reloads()).map((e) => ({ allowed: e.allowed, version: e.version, changed: e.changed })))
  step('watch.matrix', await cells())
  step('watch.settings.authenticate', await call('settings', 'authenticate', 'Open your wallet'))
  // A broken edit (a misspelled permission) is reported with its
  // position, and the last good version keeps deciding.
  writeFileSync(settingsCap, 'identifier = "settings-window"\nwindows = ["settings"]\npermissions = ["biometric:allow-authenticat"]\n')
  await reloadRows(2)
  const broken = (await reloads()).pop()
  step('watch.broken', { allowed: broken.allowed, version: broken.version, error: broken.error })
  step('watch.settings.after-broken', await call('settings', 'authenticate', 'Open your wallet'))
  step('watch.version', (await live()).version)

  // The dashboard after all this: the feed and the audit log as shown.
  await page.waitForFunction(() => document.querySelectorAll('#audit li').length >= 20)
  results.final = await page.evaluate(() => window.dashboard.state())
  results.feedRows = await page.$$eval('#feed tr', (rows) => rows.map((r) => r.innerText))
  results.auditRows = await page.$$eval('#audit li', (rows) => rows.map((r) => r.innerText))
  await page.evaluate(() => window.scrollTo(0, 0))
  await page.screenshot({ path: opts.screenshot, fullPage: true })
  step('screenshot', opts.screenshot)
} finally {
  clearTimeout(deadline)
  writeFileSync(opts.out, JSON.stringify(results, null, 2))
  await context.close()
}
