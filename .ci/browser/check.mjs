// Loads the portal in headless Chromium and checks what a visitor sees: key elements
// present, no console errors, no failed or external requests, no CSP violations.
// Screenshots go to target/screenshots/ for people to look at.
//
// usage: node check.mjs BASE_URL SCREENSHOT_DIR
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [base, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"],
});

let passed = 0;
let failed = 0;
function check(name, ok, detail = "") {
  if (ok) { passed++; console.log(`ok   ${name}`); }
  else { failed++; console.log(`FAIL ${name}${detail ? `: ${detail}` : ""}`); }
}

async function visit(path, { colorScheme = "light", viewport = { width: 1280, height: 900 } } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  const problems = [];
  const host = new URL(base).host;
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.host !== host) { problems.push(`external request: ${url}`); return route.abort(); }
    return route.continue();
  });
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  // A request cancelled by the next navigation (net::ERR_ABORTED, typically the favicon
  // asked for just after `load` when the test moves on at once) is not a failure a
  // visitor sees; a server error still shows as its status below, a refused or reset
  // connection as its own reason here.
  page.on("requestfailed", (r) => {
    const reason = r.failure()?.errorText ?? "unknown";
    if (reason === "net::ERR_ABORTED") return;
    problems.push(`request failed: ${r.url()} (${reason})`);
  });
  page.on("response", (r) => { if (r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`); });
  const response = await page.goto(base + path, { waitUntil: "load" });
  return { page, context, problems, status: response.status() };
}

async function shot(page, name) {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

// The overview.
{
  const { page, context, problems, status } = await visit("/");
  check("overview answers 200", status === 200, `got ${status}`);
  check("overview heading", (await page.locator("h1").first().textContent()).includes("Organisations"));
  const cards = await page.locator("article.card").count();
  check("overview shows a card per organisation", cards >= 2, `${cards} cards`);
  const charts = await page.locator("figure svg[role=img]").count();
  check("overview draws its three charts", charts === 3, `${charts} charts`);
  const points = await page.locator("figure.wide svg circle").count();
  check("stars-over-time has points", points > 10, `${points} points`);
  check("every chart has a title", (await page.locator("svg.chart > title").count()) === charts);
  await shot(page, "overview");
  check("overview: no console errors, failed or external requests", problems.length === 0, problems.join(" | "));
  await context.close();
}

// Dark mode and a phone-sized screen.
{
  const { page, context, problems } = await visit("/", { colorScheme: "dark" });
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check("dark mode follows the system", bg !== "rgb(246, 247, 249)", bg);
  await shot(page, "overview-dark");
  check("dark overview: no problems", problems.length === 0, problems.join(" | "));
  await context.close();
}
{
  const { page, context, problems } = await visit("/", { viewport: { width: 390, height: 844 } });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check("no sideways scrolling on a phone", overflow <= 1, `${overflow}px too wide`);
  await shot(page, "overview-phone");
  check("phone overview: no problems", problems.length === 0, problems.join(" | "));
  await context.close();
}

// One organisation.
{
  const { page: overview, context: c0 } = await visit("/");
  const href = await overview.locator("article.card h2 a").first().getAttribute("href");
  await c0.close();
  const { page, context, problems, status } = await visit(href);
  check("org page answers 200", status === 200, `got ${status}`);
  check("org page has four KPIs", (await page.locator(".kpi").count()) === 4);
  check("org page has five charts", (await page.locator("section.charts figure svg[role=img]").count()) === 5);
  const activity = page.locator("#activity");
  check("org page has an activity section", (await activity.count()) === 1);
  if ((await activity.locator("table.figures").count()) === 1) {
    check("activity shows its figures against the window before", (await activity.locator("table.figures tbody tr").count()) >= 10);
    check("activity draws pull requests per week", (await activity.locator("svg[role=img] path.line").count()) === 2);
  } else {
    check("activity says why it is not available", (await activity.textContent()).includes("Not available"));
  }
  const table = page.locator("section[aria-labelledby=repos-h]");
  const rows = await table.locator("table tbody tr").count();
  check("repository table shows a page of rows", rows > 10 && rows <= 50, `${rows} rows`);
  check("repository table has a sparkline per row", (await table.locator("svg.spark").count()) > 10);
  check("org page has movers and recent changes", (await page.locator("#movers").count()) === 1 && (await page.locator("#changes").count()) === 1);
  const attention = page.locator("#attention");
  check("org page has a needs-attention section", (await attention.count()) === 1);
  check("needs attention lists repositories with their reasons", (await attention.locator("tbody tr").count()) > 0 && (await attention.locator(".reason").count()) > 0);
  const badges = page.locator("details.badges img");
  check("org page lists its four badges (stars, repos, forks, vulnerabilities)", (await badges.count()) === 4);
  await page.locator("details.badges summary").click();
  const drawn = await page
    .waitForFunction(() => [...document.querySelectorAll("details.badges img")].every((i) => i.complete && i.naturalWidth > 40), null, { timeout: 5000 })
    .then(() => true, () => false);
  check("badges load as images", drawn);
  const repoHref = await table.locator("tbody tr td a").first().getAttribute("href");
  await shot(page, "org");
  await page.locator("th a", { hasText: "Name" }).click();
  await page.waitForLoadState("load");
  check("sorting by name through the header", page.url().includes("sort=name"), page.url());
  check("sorted column is marked for assistive technology", (await page.locator('th[aria-sort="ascending"]').count()) === 1);
  await page.selectOption("select[name=language]", { index: 1 });
  await page.locator("form.filters button").click();
  await page.waitForLoadState("load");
  check("filtering by language through the form", page.url().includes("language="), page.url());
  await page.locator("nav.ranges a", { hasText: "All" }).click();
  await page.waitForLoadState("load");
  check("a chart range through its link, keeping the table's view", page.url().includes("range=all") && page.url().includes("language="), page.url());
  check("the key figures read against the range", (await page.locator(".kpi .delta", { hasText: "since " }).count()) === 4);
  check("org page: no problems", problems.length === 0, problems.join(" | "));
  await context.close();
  const repo = await visit(repoHref);
  check("repository page answers 200", repo.status === 200, `${repoHref}: ${repo.status}`);
  check("repository page has three line charts", (await repo.page.locator("figure svg[role=img]").count()) >= 3);
  await shot(repo.page, "repo");
  check("repository page: no problems", repo.problems.length === 0, repo.problems.join(" | "));
  await repo.context.close();
}
{
  const { page, context, problems, status } = await visit("/changes");
  check("changes page answers 200", status === 200);
  check("changes page announces its Atom feed", (await page.locator('link[rel=alternate][type="application/atom+xml"]').count()) === 1);
  await shot(page, "changes");
  const kinds = {
    repo_created: "was created", repo_gone: "is gone", repo_renamed: "was renamed", repo_archived: "was archived",
    repo_unarchived: "was unarchived", license_changed: "changed its licence", default_branch_changed: "default branch",
    star_milestone: "passed",
  };
  const missing = [];
  for (const [kind, text] of Object.entries(kinds)) {
    await page.goto(`${base}/changes?kind=${kind}`, { waitUntil: "load" });
    if (!(await page.locator("main").textContent()).includes(text)) missing.push(kind);
  }
  check("the demo's changes show every kind of repository change", missing.length === 0, `missing: ${missing.join(", ")}`);
  check("changes page: no problems", problems.length === 0, problems.join(" | "));
  await context.close();
}

// Refresh history and API docs (with its small script).
{
  const { page, context, problems, status } = await visit("/runs");
  check("runs page answers 200", status === 200);
  check("runs page lists runs", (await page.locator("table tbody tr").count()) > 0);
  await shot(page, "runs");
  check("runs page: no problems", problems.length === 0, problems.join(" | "));
  await context.close();
}
{
  const { page, context, problems } = await visit("/docs");
  const ops = await page.locator("details.op").count();
  check("docs list the API's operations", ops >= 11, `${ops}`);
  const first = page.locator("details.op").filter({ hasText: "/api/v1/orgs" }).first();
  await first.locator("summary").click();
  await first.locator("button").click();
  await first.locator("pre.out").filter({ hasText: "200" }).waitFor({ timeout: 5000 });
  check("docs 'try it' calls the API", (await first.locator("pre.out").textContent()).includes("github:"));
  await shot(page, "docs");
  check("docs: no problems", problems.length === 0, problems.join(" | "));
  await context.close();
}

await browser.close();
console.log(`\nbrowser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
