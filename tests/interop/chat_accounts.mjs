// Accounts and identities of the chat, with Node's fetch and ws, against
// two chat nodes sharing one Redis:
//
//   node chat_accounts.mjs before URL_A URL_B TOKEN
//   node chat_accounts.mjs after  URL_A ACCOUNT_ID
//
// "before": a name claimed with a password on node A, refused with a
// wrong one and let in with the right one on node B (the same identity);
// guest logins and look-alikes of the name refused; a guest name reused
// after a logout sees nothing of the first guest's messages; a token
// user's name (TOKEN's sub "tess", sent as the subprotocol bearer.JWT)
// that /login cannot take; a direct message to the account left for
// later. "after" (node A restarted): the password still logs in as the
// same identity, and the message is in its history.
// Prints one JSON line; exits non-zero on failure.
import WebSocket from 'ws';

const [phase, baseA, arg3, arg4] = process.argv.slice(2);
const steps = [];
const fail = (msg) => { console.log(JSON.stringify({ ok: false, msg, steps })); process.exit(1); };
setTimeout(() => fail('timeout'), 120000).unref(); // a bound for a busy machine, not a speed target

async function login(base, body) {
  let r;
  try {
    r = await fetch(base + '/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(60000) });
  } catch (e) {
    fail(`login ${JSON.stringify(body.name)} at ${base}: ${e}`);
  }
  const j = await r.json().catch(() => ({}));
  return { status: r.status, body: j, cookie: (r.headers.get('set-cookie') || '').split(';')[0] };
}

async function logout(base, cookie) {
  const r = await fetch(base + '/logout', { method: 'POST', headers: { Cookie: cookie } });
  if (r.status !== 200) fail('logout ' + r.status);
}

// open connects to room with a cookie or subprotocols and collects what
// arrives; next(pred) resolves with the first message pred accepts.
function open(base, room, { cookie, protocols } = {}) {
  const ws = new WebSocket(base.replace('http', 'ws') + '/ws/chat/' + room, protocols || [], cookie ? { headers: { Cookie: cookie } } : {});
  const got = [];
  const waiting = [];
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    got.push(m);
    for (const w of waiting.splice(0)) if (!w.pred(m)) waiting.push(w); else w.resolve(m);
  });
  ws.on('error', (e) => fail('ws: ' + e));
  // next resolves with the first message pred accepts; a wait of over a
  // minute fails the scenario, naming what it waited for.
  const next = (pred) => new Promise((resolve) => {
    const m = got.find(pred);
    if (m) { got.splice(got.indexOf(m), 1); resolve(m); return; }
    const timer = setTimeout(() => fail(`${room} at ${base}: no message for ${pred} (got ${JSON.stringify(got).slice(0, 300)})`), 60000);
    waiting.push({ pred, resolve: (x) => { clearTimeout(timer); got.splice(got.indexOf(x), 1); resolve(x); } });
  });
  return { ws, next, send: (v) => ws.send(JSON.stringify(v)) };
}

const expect = (cond, msg) => { if (!cond) fail(msg); };

if (phase === 'before') {
  const baseB = arg3;
  const tokenJWT = arg4;
  const claim = await login(baseA, { name: 'Nora', password: 'nora-secret-1' });
  expect(claim.status === 200 && claim.body.id.startsWith('a:'), 'claim: ' + JSON.stringify(claim));
  steps.push('claim');
  const wrong = await login(baseB, { name: 'nora', password: 'nora-secret-2' });
  expect(wrong.status === 401 && wrong.body.code === 'bad_credentials', 'wrong password: ' + JSON.stringify(wrong));
  steps.push('wrong password');
  const other = await login(baseB, { name: 'NORA', password: 'nora-secret-1' });
  expect(other.status === 200 && other.body.id === claim.body.id, 'second node: ' + JSON.stringify(other));
  steps.push('second node');
  for (const name of ['nora', ' NORA ', 'n\u043era', '\uff4e\uff4f\uff52\uff41']) {
    const g = await login(baseA, { name });
    expect(g.status === 409 && g.body.code === 'name_taken', `guest ${JSON.stringify(name)}: ` + JSON.stringify(g));
  }
  for (const name of ['no\u200bra', 'nora\u202c', '\u202earon']) {
    const g = await login(baseA, { name });
    expect(g.status === 400 && g.body.code === 'bad_name', `invisible ${JSON.stringify(name)}: ` + JSON.stringify(g));
  }
  steps.push('look-alike names');

  // A guest name reused after a logout.
  const ann = await login(baseA, { name: 'ann' });
  const annWS = open(baseA, 'lobby', { cookie: ann.cookie });
  await annWS.next((m) => m.type === 'history');
  const gus1 = await login(baseA, { name: 'gus' });
  const gus1WS = open(baseA, 'lobby', { cookie: gus1.cookie });
  await gus1WS.next((m) => m.type === 'history');
  annWS.send({ type: 'dm', to: 'gus', msg: 'for the first gus' });
  const d1 = await gus1WS.next((m) => m.type === 'dm');
  expect(d1.msg === 'for the first gus' && d1.to_id === gus1.body.id, 'first gus: ' + JSON.stringify(d1));
  await logout(baseA, gus1.cookie);
  const gus2 = await login(baseB, { name: 'gus' });
  expect(gus2.status === 200 && gus2.body.id !== gus1.body.id, 'second gus: ' + JSON.stringify(gus2));
  const gus2WS = open(baseB, 'lobby', { cookie: gus2.cookie });
  await gus2WS.next((m) => m.type === 'history');
  gus2WS.send({ type: 'history', dm: 'ann' });
  const h = await gus2WS.next((m) => m.type === 'history' && m.dm);
  expect(h.messages.length === 0, 'the second gus reads: ' + JSON.stringify(h));
  steps.push('guest name reused');

  // A token user's name.
  const tess = open(baseB, 'lobby', { protocols: ['gnetty.chat', 'bearer.' + tokenJWT] });
  const hs = await tess.next((m) => m.type === 'handShake');
  expect(hs.user.id === 't:tess', 'token user: ' + JSON.stringify(hs));
  expect(tess.ws.protocol === 'gnetty.chat', 'subprotocol answered: ' + tess.ws.protocol);
  let taken = null;
  for (let i = 0; i < 100; i++) { // the token user's name is claimed as it connects
    taken = await login(baseA, { name: 'tess' });
    if (taken.status === 409) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(taken.status === 409, 'a guest as the token user: ' + JSON.stringify(taken));
  const pw = await login(baseA, { name: 'tess', password: 'tess-secret-1' });
  expect(pw.status === 401 && pw.body.code === 'bad_credentials', 'a password for the token user: ' + JSON.stringify(pw));
  annWS.send({ type: 'dm', to: 'tess', msg: 'for tess' });
  const dt = await tess.next((m) => m.type === 'dm');
  expect(dt.msg === 'for tess' && dt.to_id === 't:tess', 'tess got ' + JSON.stringify(dt));
  steps.push('token subject');

  // A message for the account, read after the restart.
  annWS.send({ type: 'dm', to: 'nora', msg: 'for nora, later' });
  const sent = await annWS.next((m) => m.type === 'dm' && m.msg === 'for nora, later');
  expect(sent.to_id === claim.body.id, 'dm to the account: ' + JSON.stringify(sent));
  steps.push('dm to the account');
  for (const c of [annWS, gus1WS, gus2WS, tess]) c.ws.close(1000);
  console.log(JSON.stringify({ ok: true, steps, account: claim.body.id }));
  process.exit(0);
} else if (phase === 'after') {
  const id = arg3;
  const nora = await login(baseA, { name: 'nora', password: 'nora-secret-1' });
  expect(nora.status === 200 && nora.body.id === id, 'after the restart: ' + JSON.stringify(nora));
  const bad = await login(baseA, { name: 'nora', password: 'nora-secret-2' });
  expect(bad.status === 401, 'a wrong password after the restart: ' + bad.status);
  const ws = open(baseA, 'lobby', { cookie: nora.cookie });
  await ws.next((m) => m.type === 'history');
  ws.send({ type: 'history', dm: 'ann' });
  const h = await ws.next((m) => m.type === 'history' && m.dm);
  expect(h.messages.length === 1 && h.messages[0].msg === 'for nora, later', 'history after the restart: ' + JSON.stringify(h));
  steps.push('restart');
  ws.ws.close(1000);
  console.log(JSON.stringify({ ok: true, steps }));
  process.exit(0);
} else {
  fail('phase: ' + phase);
}
