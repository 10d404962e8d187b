// Two headless Chromium users on examples/socketio's chat page (the stock
// socket.io client in a browser): they log in, see each other join, type,
// exchange messages (shown as text, never as HTML), and one leaves.
// Prints one JSON line; exits non-zero on failure.
import { launch } from './launch.mjs';

const base = process.argv[2];
const browser = await launch();
const steps = [];
const fail = async (msg) => { console.log(JSON.stringify({ ok: false, msg, steps })); await browser.close(); process.exit(1); };
const T = { timeout: 10000 };
const texts = (page) => page.$$eval('#messages li', (els) => els.map((e) => e.textContent));
try {
  const alice = await (await browser.newContext()).newPage();
  const bob = await (await browser.newContext()).newPage();
  for (const [page, name] of [[alice, 'alice'], [bob, 'bob']]) {
    await page.goto(base + '/');
    await page.fill('#name', name);
    await page.press('#name', 'Enter');
    await page.waitForFunction(() => document.querySelector('#status').textContent.startsWith('connected'), null, T);
  }
  steps.push('logged in');
  await alice.waitForFunction(() => [...document.querySelectorAll('#messages li')].some((li) => li.textContent === 'bob joined'), null, T);
  steps.push('alice sees bob join');
  await bob.waitForFunction(() => document.querySelector('#status').textContent === 'connected (websocket)', null, T);
  steps.push('upgraded to websocket');
  await alice.type('#input', 'hel');
  await bob.waitForSelector('#messages li.typing', T);
  steps.push('typing shown');
  const payload = '<img src=x onerror="window.pwned=1">';
  for (const m of ['hello bob', payload]) {
    await alice.fill('#input', m);
    await alice.press('#input', 'Enter');
  }
  await bob.waitForFunction((p) => [...document.querySelectorAll('#messages li .body')].some((b) => b.textContent === p), payload, T);
  const got = await texts(bob);
  if (!got.includes('alicehello bob')) await fail('bob lacks the message: ' + got);
  if (await bob.evaluate(() => window.pwned) !== undefined || await bob.$$eval('#messages img', (e) => e.length) !== 0) await fail('payload ran as HTML');
  if (await bob.$$eval('#messages li.typing', (e) => e.length) !== 0) await fail('typing notice not cleared');
  steps.push('messages as text');
  await bob.close();
  await alice.waitForFunction(() => [...document.querySelectorAll('#messages li')].some((li) => li.textContent === 'bob left'), null, T);
  steps.push('alice sees bob leave');
  console.log(JSON.stringify({ ok: true, steps }));
  await browser.close();
} catch (e) {
  await fail(String(e));
}
