// The dashboard: the permission matrix, the simulated device and the live
// feed of decisions, from /api/state and the /api/events stream.

const $ = (id) => document.getElementById(id)

function el(tag, props, ...children) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class') e.className = v
    else if (k === 'title') e.title = v
    else e.setAttribute(k, v)
  }
  for (const c of children) {
    e.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
  return e
}

let matrixVersion = 0
function renderMatrix(m) {
  matrixVersion = m.version
  const table = $('matrix')
  table.dataset.version = m.version
  table.replaceChildren()
  const head = el('tr', {}, el('th', {}, 'page'), el('th', {}, 'origin'))
  for (const c of m.commands) head.append(el('th', { class: 'cmd' }, el('code', {}, c)))
  table.append(el('thead', {}, head))
  const body = el('tbody')
  for (const r of m.rows) {
    const tr = el('tr', { 'data-page': r.page },
      el('th', {}, r.page === 'untrusted' ? `untrusted (window ${r.window})` : r.window),
      el('td', { class: 'origin' }, r.origin))
    r.cells.forEach((c, i) => {
      let why = c.allowed ? 'allowed by ' + (c.via || []).join('; ') : (c.why || 'denied') + ((c.via || []).length ? ' — denied by ' + c.via.join('; ') : '')
      if ((c.stepUp || []).length) why += '\nstep-up: ' + c.stepUp.join('; ')
      let mark = c.allowed ? '✓' : '✗'
      let cls = c.allowed ? 'yes' : 'no'
      if (c.allowed && !c.served) {
        mark = '✓ not served'
        cls = 'yes muted'
      }
      const td = el('td', { class: cls, title: why, 'data-command': m.commands[i] }, mark)
      if (c.allowed && (c.via || []).length) td.append(el('small', {}, c.via[0].split(':')[0]))
      if ((c.stepUp || []).length) {
        td.classList.add('stepup')
        td.append(el('small', { class: 'lock' }, 'step-up'))
      }
      tr.append(td)
    })
    body.append(tr)
  }
  table.append(body)
}

function time(t) {
  const d = new Date(t)
  return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0')
}

function renderDevice(d) {
  const parts = [`${d.authenticate} authentication attempt(s), ${d.status} status call(s)`,
    d.pending ? `${d.pending} scripted touch(es) queued` : 'no touch scripted: the next one matches']
  if (d.lockedOut) parts.push('locked out (unlock, or wait for the lockout to pass)')
  $('device-summary').textContent = parts.join(' · ')
  $('device-summary').className = 'device-summary' + (d.lockedOut ? ' locked' : '')
  const log = $('device-log')
  log.replaceChildren()
  for (const c of d.calls.slice(-12).reverse()) {
    const text = c.method === 'authenticate'
      ? `authenticate “${c.reason}” attempt ${c.attempt}/${c.max}: ${c.outcome || 'refused'} → ${c.code || 'ok'}`
      : 'status'
    log.append(el('li', { class: c.code ? 'err' : 'ok' }, el('span', { class: 'when' }, time(c.time) + ' '), text))
  }
}

function obligationText(o) {
  return `${o.type}${o.maxAgeS ? ` ≤ ${o.maxAgeS} s` : ''}${o.reason ? ` “${o.reason}”` : ''}`
}

function badge(e) {
  switch (e.kind) {
    case 'refused':
      return el('span', { class: 'badge refused' }, e.count > 1 ? `refused ${e.status} ×${e.count}` : `refused ${e.status}`)
    case 'stepup':
      return el('span', { class: 'badge stepup ' + (e.allowed ? 'allowed' : 'denied') }, `step-up ${e.outcome}`)
    case 'reload':
      return el('span', { class: 'badge reload ' + (e.allowed ? 'allowed' : 'denied') }, e.allowed ? `reload → v${e.version}` : 'reload failed')
  }
  return el('span', { class: 'badge ' + (e.allowed ? 'allowed' : 'denied') }, e.allowed ? 'allowed' : 'denied')
}

function renderEntry(e) {
  let obligations = (e.obligations || []).map((o) => `obligation ${obligationText(o)}: ${o.met ? 'met' : 'not met (' + o.error + ')'}`).join('\n')
  if (e.kind === 'stepup') obligations = (e.obligations || []).map((o) => `obligation ${obligationText(o)}`).join('\n')
  // A decision refused by a failed obligation says so in its obligations.
  const error = e.kind === 'decision' && (e.obligations || []).some((o) => !o.met) ? '' : e.error
  let explanation = [e.explanation, e.code ? `code ${e.code}` : '', error, obligations].filter(Boolean).join('\n')
  if (e.kind === 'refused' && e.count > 1) explanation = `${e.count} similar rejections (the last shown)\n` + explanation
  if (e.kind === 'reload' && (e.changed || []).length) explanation += '\nchanged: ' + e.changed.join(', ')
  let command = e.command || '—'
  if (e.kind === 'reload') command = 'capabilities'
  return el('tr', { class: e.kind + ' ' + (e.allowed ? 'allowed' : 'denied'), 'data-seq': e.seq, 'data-kind': e.kind },
    el('td', { class: 'when' }, time(e.time)),
    el('td', {}, el('code', {}, command)),
    el('td', {}, e.kind === 'refused' && e.window ? `${e.window} (token's)` : e.window || '—'),
    el('td', { class: 'origin' }, e.origin || '—'),
    el('td', {}, badge(e)),
    el('td', { class: 'refs' }, (e.references || []).join('\n') || '—'),
    el('td', { class: 'why' }, explanation),
    el('td', { class: 'num' }, e.kind === 'decision' ? e.latencyUs : ''),
    el('td', { class: 'num' }, (e.kind === 'decision' || e.kind === 'reload') && e.version ? `v${e.version}` : ''))
}

function renderLive(l) {
  $('version').textContent = `version ${l.version}`
  $('stepup-summary').textContent = `step-ups remembered for ${l.remembered} window(s) · open_vault's handler ran ${l.vaultOpened} time(s)`
}

let lastAudit = 0
function addAudit(lines) {
  const list = $('audit')
  for (const l of lines) {
    if (l.seq <= lastAudit) continue
    lastAudit = l.seq
    list.prepend(el('li', { 'data-seq': l.seq }, el('code', {}, l.line)))
  }
  while (list.children.length > 100) list.lastChild.remove()
}

let lastSeq = 0
function addEntries(entries) {
  const feed = $('feed')
  for (const e of entries) {
    if (e.seq <= lastSeq) continue
    lastSeq = e.seq
    // A refusal group replaces its previous row.
    if (e.key) for (const old of feed.querySelectorAll('tr[data-kind="refused"]')) if (old.dataset.key === e.key) old.remove()
    const row = renderEntry(e)
    if (e.key) row.dataset.key = e.key
    feed.prepend(row)
  }
  while (feed.children.length > 200) feed.lastChild.remove()
}

async function post(url, body) {
  const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  const data = await r.json()
  if (!r.ok) throw new Error(data.error || r.statusText)
  renderDevice(data)
  return data
}

// scriptNext queues outcomes on the simulated device (also used by tests).
window.dashboard = {
  next: (outcome, count = 1) => post('/api/device/next', { outcome, count }),
  unlock: () => post('/api/device/unlock', {}),
  enroll: () => post('/api/device/enroll', {}),
  forget: () => post('/api/stepup/forget', {}),
  state: () => fetch('/api/state').then((r) => r.json())
}

for (const b of document.querySelectorAll('button.outcome')) {
  b.addEventListener('click', () => window.dashboard.next(b.dataset.outcome).catch((e) => alert(e.message)))
}
$('unlock').addEventListener('click', () => window.dashboard.unlock())
$('enroll').addEventListener('click', () => window.dashboard.enroll())
$('forget').addEventListener('click', () => window.dashboard.forget())

const st = await window.dashboard.state()
renderMatrix(st.matrix)
renderDevice(st.device)
renderLive(st.live)
addEntries(st.entries)
addAudit(st.audit)

const events = new EventSource(`/api/events?since=${lastSeq}&audit=${lastAudit}&matrix=${matrixVersion}`)
events.addEventListener('entry', (m) => addEntries([JSON.parse(m.data)]))
events.addEventListener('audit', (m) => addAudit([JSON.parse(m.data)]))
events.addEventListener('matrix', (m) => renderMatrix(JSON.parse(m.data)))
events.addEventListener('live', (m) => renderLive(JSON.parse(m.data)))
events.addEventListener('device', (m) => renderDevice(JSON.parse(m.data)))
document.body.dataset.ready = '1'
