// The web inbox end to end, in Debian's headless chromium driven by playwright-core (no browser
// download: executablePath is the system's chromium). Run by tests/web_inbox.rs, which starts the
// server and hands over, in the environment: BASE (the HTTP door), SMTP (host:port), CHROMIUM,
// SHOTS (the screenshot folder), PLATFORM_KEY, ACME_KEY, ACME_ID, ACME_ADDRESS, OTHER_ID,
// HELD_ID (a quarantined message of Acme's), MARKUP_SUBJECT.
// Each step prints "ok <step>"; the first failure throws, and the exit code is non-zero.

const { chromium } = require("playwright-core");
const net = require("net");
const assert = require("assert");
const path = require("path");

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const BASE = env("BASE");
const SHOTS = env("SHOTS");

// One message over SMTP, the way any client sends it.
function sendMail(from, to, message) {
  const [host, port] = env("SMTP").split(":");
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), host);
    const script = [`EHLO browser.test`, `MAIL FROM:<${from}>`, `RCPT TO:<${to}>`, `DATA`, message.replace(/\n/g, "\r\n") + "\r\n.", `QUIT`];
    let buffer = "";
    let step = -1;
    const replies = [];
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (line[3] === "-") continue; // a multiline reply goes on
        replies.push(line);
        step += 1;
        if (step < script.length) socket.write(script[step] + "\r\n");
      }
    });
    socket.on("close", () => {
      const data = replies[5] || "";
      data.startsWith("250") ? resolve(data) : reject(new Error(`SMTP: ${replies.join(" | ")}`));
    });
    socket.on("error", reject);
  });
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function main() {
  const browser = await chromium.launch({ executablePath: env("CHROMIUM"), args: ["--no-sandbox"] });
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const dialogs = [];
  page.on("dialog", async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });

  // Nothing but the sign-in page without a session.
  for (const p of ["/inbox", "/inbox/accounts", `/inbox/accounts/${env("ACME_ID")}`, "/inbox/assets/app.js", "/inbox/activity"]) {
    const response = await page.goto(BASE + p);
    assert.ok(page.url().endsWith("/inbox/sign-in"), `${p} without a session went to ${page.url()}`);
    assert.strictEqual(response.status(), 200);
  }
  console.log("ok no page without a session");

  await page.fill("#key", "inboxd_not-a-key");
  await page.click("button[type=submit]");
  await page.getByText("That key is not valid").waitFor();
  await shot(page, "sign-in");
  await page.fill("#key", env("PLATFORM_KEY"));
  await page.click("button[type=submit]");
  await page.waitForURL(BASE + "/inbox/accounts");
  const cookie = (await context.cookies()).find((c) => c.name === "inboxd_session");
  assert.ok(cookie && cookie.httpOnly && cookie.sameSite === "Strict", JSON.stringify(cookie));
  console.log("ok signed in with a platform key (HttpOnly, SameSite=Strict)");

  // Accounts: the forwarding confirmation's code, prominently, and the address with its copy button.
  const acme = page.locator("li", { hasText: "Acme" }).first();
  await acme.locator(".notice .code", { hasText: "468201937" }).waitFor();
  await acme.getByText(env("ACME_ADDRESS")).waitFor();
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });
  await acme.getByRole("button", { name: "Copy" }).click();
  await acme.getByRole("button", { name: "Copied" }).waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.strictEqual(copied, env("ACME_ADDRESS"));
  await shot(page, "accounts");
  console.log("ok accounts page: forwarding code 468201937 and the address copied");

  // Mail arrives over SMTP while the inbox is open; a reload shows its conversation.
  await page.goto(`${BASE}/inbox/accounts/${env("ACME_ID")}`);
  assert.strictEqual(await page.locator("#conversations li", { hasText: "Delivery date for order 1182" }).count(), 0);
  const mail = [
    "From: Dana Customer <dana@customer.example>",
    `To: ${env("ACME_ADDRESS")}`,
    "Subject: Delivery date for order 1182",
    "Message-ID: <order-1182@customer.example>",
    "",
    "Could you tell me when order 1182 ships?",
    "",
    "On Mon, 30 Nov 2026, Acme Support <support@acme.example> wrote:",
    "> Thanks for your order 1182.",
    "> We will write again when it ships.",
    "",
    "-- ",
    "Dana Customer, Head of Purchasing",
  ].join("\n");
  await sendMail("dana@customer.example", env("ACME_ADDRESS"), mail);
  await page.reload();
  const row = page.locator("#conversations li", { hasText: "Delivery date for order 1182" });
  await row.waitFor();
  await row.getByText("Could you tell me when order 1182 ships?").waitFor();
  assert.ok(!(await row.innerText()).includes("We will write again"), "the preview is the new text only");
  await shot(page, "inbox");
  console.log("ok delivered over SMTP and the conversation appeared in the inbox");

  // Filters and search.
  await page.fill("input[name=q]", "order 1182");
  await page.click("form.filters button[type=submit]");
  await page.locator("#conversations li").first().waitFor();
  assert.strictEqual(await page.locator("#conversations li").count(), 1);
  await page.selectOption("select[name=kind]", "bounce");
  await page.click("form.filters button[type=submit]");
  await page.getByText("No conversations match.").waitFor();
  console.log("ok search and kind filter");

  // The conversation: the new text shown, the quote and the signature folded one click away.
  await page.goto(`${BASE}/inbox/accounts/${env("ACME_ID")}`);
  await row.getByRole("link", { name: "Delivery date for order 1182" }).click();
  await page.getByRole("heading", { name: "Delivery date for order 1182" }).waitFor();
  const quoted = page.locator("details.quoted pre");
  assert.ok(!(await quoted.isVisible()), "the quote starts folded");
  await page.getByText("Show quoted text").click();
  await quoted.getByText("We will write again when it ships.").waitFor();
  await page.getByText("Signature", { exact: true }).click();
  await page.locator("details.signature pre", { hasText: "Head of Purchasing" }).waitFor();
  await shot(page, "conversation");
  console.log("ok conversation: quote unfolded, signature unfolded");

  // The raw message is one click away.
  await page.getByRole("link", { name: "Raw message" }).first().click();
  await page.waitForURL(/\/raw$/);
  assert.ok((await page.innerText("body")).includes("Message-ID: <order-1182@customer.example>"));
  await page.goBack();
  console.log("ok raw message");

  // The contact and its Conversations tab.
  await page.getByRole("link", { name: "dana@customer.example" }).first().click();
  await page.locator(".tabs", { hasText: "Conversations" }).waitFor();
  assert.strictEqual((await page.innerText("#opt-in")).trim(), "no");
  assert.strictEqual((await page.innerText("#lists")).trim(), "none");
  await page.locator("#contact-conversations li", { hasText: "Delivery date for order 1182" }).waitFor();
  await shot(page, "contact");
  console.log("ok contact: opt-in no, lists none, its Conversations tab");

  // A subject with markup is text, never markup.
  await page.goto(`${BASE}/inbox/accounts/${env("ACME_ID")}`);
  await page.getByText(env("MARKUP_SUBJECT"), { exact: true }).waitFor();
  assert.strictEqual(await page.locator("#conversations script").count(), 0);
  assert.strictEqual(await page.locator("#conversations b", { hasText: "bold" }).count(), 0);
  assert.deepStrictEqual(dialogs, [], "no script of a sender ran");
  console.log("ok a subject with markup shows as text");

  // The quarantine: score and symbols, and Release files it (its contact made then).
  await page.goto(`${BASE}/inbox/accounts/${env("ACME_ID")}/quarantine`);
  const held = page.locator(`#held-${env("HELD_ID")}`);
  await held.getByText("GTUBE").waitFor();
  await held.locator(".badge.spam", { hasText: "score" }).waitFor();
  await shot(page, "quarantine");
  await held.getByRole("button", { name: "Release" }).click();
  await page.waitForURL(/\/inbox\/conversations\/\d+$/);
  await page.getByRole("heading", { name: "Your invoice is overdue" }).waitFor();
  await page.goto(`${BASE}/inbox/accounts/${env("ACME_ID")}/quarantine`);
  await page.getByText("Nothing is held.").waitFor();
  console.log("ok released from the quarantine into a conversation");

  // A form post without the CSRF token is refused, and changes nothing.
  const forged = await context.request.post(`${BASE}/inbox/sign-out`, { form: {}, maxRedirects: 0 });
  assert.strictEqual(forged.status(), 403);
  const wrong = await context.request.post(`${BASE}/inbox/messages/${env("HELD_ID")}/delete`, { form: { csrf: "guess" }, maxRedirects: 0 });
  assert.strictEqual(wrong.status(), 403);
  await page.goto(`${BASE}/inbox/accounts`);
  await page.getByRole("heading", { name: "Accounts" }).waitFor();
  console.log("ok a post without the CSRF token is refused (403) and the session lives on");

  // Activity: the chart of this host's minutes.
  await page.goto(`${BASE}/inbox/activity`);
  await page.locator("svg.chart rect.accepted").first().waitFor();
  await page.locator("#activity-totals", { hasText: "refused 550" }).waitFor();
  await shot(page, "activity");
  console.log("ok activity chart");

  // Keyboard: the first Tab reaches the skip link, and Enter follows it.
  await page.keyboard.press("Tab");
  assert.strictEqual(await page.evaluate(() => document.activeElement.textContent), "Skip to content");
  console.log("ok keyboard: skip link first");

  // Sign out ends the session.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(BASE + "/inbox/sign-in");
  await page.goto(`${BASE}/inbox/accounts`);
  assert.ok(page.url().endsWith("/inbox/sign-in"));
  console.log("ok signed out");

  // An account key: its own inbox; another account's pages are 404; no platform pages.
  await page.fill("#key", env("ACME_KEY"));
  await page.click("button[type=submit]");
  await page.waitForURL(`${BASE}/inbox/accounts/${env("ACME_ID")}`);
  for (const p of [`/inbox/accounts/${env("OTHER_ID")}`, `/inbox/accounts/${env("OTHER_ID")}/quarantine`, "/inbox/accounts", "/inbox/activity"]) {
    const response = await page.goto(BASE + p);
    assert.strictEqual(response.status(), 404, p);
  }
  console.log("ok an account key cannot reach another account's pages (404)");

  // Small screens and dark mode.
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, colorScheme: "dark" });
  await phone.addCookies((await context.cookies()).filter((c) => c.name === "inboxd_session"));
  const small = await phone.newPage();
  await small.goto(`${BASE}/inbox/accounts/${env("ACME_ID")}`);
  await small.locator("#conversations li").first().waitFor();
  const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling at 360 px (${overflow} px too wide)`);
  const dark = await small.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.notStrictEqual(dark, "rgb(251, 251, 250)", "dark mode has a dark background");
  await shot(small, "inbox-360-dark");
  console.log("ok 360 px wide, dark mode");

  await browser.close();
}

main().then(
  () => console.log("all ok"),
  (e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(1);
  },
);
