// The chat page through a server outage: alice is logged in; the Go test
// kills the server (we see the page go to "reconnecting"), alice types a
// message while it is down, the Go test restarts the server seconds later,
// and the page must reconnect by itself and deliver the message exactly
// once, then carry on. Talks to the Go test on stdin/stdout: prints
// "ready", waits for "killed", prints "typed", waits for "restarted".
// Prints one JSON line last; exits non-zero on failure.
import { launch } from './launch.mjs';
import * as readline from 'node:readline';

const base = process.argv[2];
const lines = readline.createInterface({ input: process.stdin });
const next = () => new Promise((resolve) => lines.once('line', resolve));
const browser = await launch();
const steps = [];
const fail = async (msg) => { console.log(JSON.stringify({ ok: false, msg, steps })); await browser.close(); process.exit(1); };
const T = { timeout: 15000 };
try {
  const alice = await (await browser.newContext()).newPage();
  const errors = [];
  alice.on('pageerror', (e) => errors.push(String(e)));
  await alice.goto(base + '/#lobby');
  await alice.fill('#name', 'alice');
  await alice.click('#login-form button');
  await alice.waitForSelector('#state.connected', T);
  steps.push('connected');
  console.log('ready');

  if ((await next()) !== 'killed') await fail('expected killed');
  await alice.waitForSelector('#state.reconnecting', T);
  steps.push('reconnecting');
  await alice.fill('#input', 'typed while offline');
  await alice.press('#input', 'Enter');
  const pending = await alice.$$eval('#pending li', (els) => els.map((e) => e.textContent));
  if (!pending.some((t) => t.includes('typed while offline'))) await fail('the offline message is not shown as pending: ' + pending);
  steps.push('pending');
  console.log('typed');

  if ((await next()) !== 'restarted') await fail('expected restarted');
  await alice.waitForSelector('#state.connected', { timeout: 60000 });
  steps.push('reconnected by itself');
  await alice.waitForFunction(() => [...document.querySelectorAll('#messages li.msg .text')].some((e) => e.textContent === 'typed while offline'), null, T);
  await alice.waitForFunction(() => document.querySelectorAll('#pending li').length === 0, null, T);
  await alice.fill('#input', 'after the outage');
  await alice.press('#input', 'Enter');
  await alice.waitForFunction(() => [...document.querySelectorAll('#messages li.msg .text')].some((e) => e.textContent === 'after the outage'), null, T);
  const texts = await alice.$$eval('#messages li.msg .text', (els) => els.map((e) => e.textContent));
  const n = texts.filter((t) => t === 'typed while offline').length;
  if (n !== 1) await fail(`the offline message arrived ${n} times: ${texts}`);
  if (errors.length) await fail('page errors: ' + errors.join('; '));
  steps.push('delivered once, and new messages show');
  console.log(JSON.stringify({ ok: true, steps }));
} catch (e) {
  await fail(String(e));
} finally {
  await browser.close();
}
process.exit(0);
