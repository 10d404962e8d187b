// examples/socketio's page as a person meets it, in headless Chromium at
// 1280x800 and 390x844: two people log in; the nickname prompt is gone
// once logged in; every visible text has a WCAG AA contrast ratio (4.5:1)
// against its background, computed here; nothing overflows the width.
// Then, with the client script failing to load (offline), the page says
// so and Enter does not reload it. Prints one JSON line; exits non-zero on
// failure.
import { launch } from './launch.mjs';

const base = process.argv[2];
const browser = await launch();
const steps = [];
const fail = async (msg) => { console.log(JSON.stringify({ ok: false, msg, steps })); await browser.close(); process.exit(1); };
const T = { timeout: 10000 };

// lowContrast lists the visible texts under 4.5:1 against their
// background (the first ancestor with an opaque one).
const lowContrast = (page) => page.evaluate(() => {
  const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim() !== '');
    if (!own || !el.checkVisibility()) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const fg = lum(rgb(getComputedStyle(el).color).slice(0, 3));
    const bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) bad.push(`${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return bad;
});

try {
  for (const [width, height] of [[1280, 800], [390, 844]]) {
    const people = [];
    for (const name of ['alice', 'bob']) {
      const page = await (await browser.newContext({ viewport: { width, height } })).newPage();
      const errors = [];
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      await page.goto(base + '/');
      await page.fill('#name', name);
      await page.press('#name', 'Enter');
      await page.waitForFunction(() => document.querySelector('#status').textContent.startsWith('connected'), null, T);
      if (await page.$eval('#login', (e) => getComputedStyle(e).display) !== 'none') await fail(`${width}px: the nickname prompt stays after login`);
      if (!await page.$eval('#input', (e) => e.checkVisibility())) await fail(`${width}px: no message field`);
      people.push({ page, errors });
    }
    const [alice, bob] = people.map((p) => p.page);
    await alice.fill('#input', 'a message long enough to wrap on a narrow phone screen, with https://example.com/a/long/link/that/should/wrap/too');
    await alice.press('#input', 'Enter');
    await bob.waitForFunction(() => [...document.querySelectorAll('#messages li .body')].some((b) => b.textContent.startsWith('a message')), null, T);
    for (const [i, page] of [alice, bob].entries()) {
      const bad = await lowContrast(page);
      if (bad.length) await fail(`${width}px, ${['alice', 'bob'][i]}: text under 4.5:1: ${bad.join('; ')}`);
      const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      if (over > 0) await fail(`${width}px: the page is ${over}px wider than the screen`);
      const headerLines = await page.$eval('header', (h) => h.getBoundingClientRect().height);
      if (headerLines > 80) await fail(`${width}px: the header takes ${headerLines}px`);
    }
    for (const p of people) {
      if (p.errors.length) await fail(`${width}px: console errors: ${p.errors.join('; ')}`);
      await p.page.context().close();
    }
    steps.push(`${width}x${height}`);
  }

  // Offline: the client script cannot load.
  const page = await (await browser.newContext()).newPage();
  await page.route('**/socket.io/socket.io.js', (route) => route.abort());
  await page.goto(base + '/');
  await page.waitForSelector('#no-client', { state: 'visible', ...T });
  const notice = await page.$eval('#no-client', (e) => e.textContent);
  if (!notice.includes('npm ci --prefix tests/interop')) await fail('the notice lacks the fix: ' + notice);
  // A listener on window runs after the form's own: it sees whether the
  // submission (a reload) was prevented.
  await page.evaluate(() => window.addEventListener('submit', (e) => { window.prevented = e.defaultPrevented; }));
  await page.fill('#name', 'carol');
  await page.press('#name', 'Enter');
  await page.waitForFunction(() => window.prevented !== undefined, null, T);
  if (await page.evaluate(() => window.prevented) !== true) await fail('Enter submits the form: the page reloads');
  const bad = await lowContrast(page);
  if (bad.length) await fail('offline: text under 4.5:1: ' + bad.join('; '));
  steps.push('offline notice');
  console.log(JSON.stringify({ ok: true, steps }));
  await browser.close();
} catch (e) {
  await fail(String(e));
}
