// The web pages in headless Chromium at phone size against a real Schulhof server: a school is
// imported (access letters with start codes), people choose their password on /erstanmeldung
// (without JavaScript), log in with a Matrix client, and a teacher resets a student's password
// on /passwort-zuruecksetzen and prints the new access letter.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, launchBrowser } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const SHOTS = join(here, "screenshots");
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };

const SCHOOL = "Browser-Testschule";
const IMPORT_CSV = [
    "ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung",
    "L-1;Anna;Schmidt;Lehrkraft;Lehrer, Klasse 8.1;;ja",
    "S-1;Ben;Müller;Schüler;Klasse 8.1;;ja",
    "S-2;Mia;Wagner;Schülerin;Klasse 8.2;;ja",
    "S-3;Tim;Berg;Schüler;Klasse 8.2;;ja",
].join("\n");
const ANNA = { localpart: "anna.schmidt", userId: "@anna.schmidt:schule.test", password: "Tafel-Kreide-42!" };
const BEN = { localpart: "ben.mueller", userId: "@ben.mueller:schule.test", password: "Rad-Fahren-2025?", newPassword: "Neues-Fahrrad-77#" };
const MIA = { localpart: "mia.wagner" };
const EXPECTED_CSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

let server;
let browser;
/** What earlier steps established; later steps skip when a prerequisite is missing. */
const state = {};

function requires(t, ...keys) {
    const missing = keys.filter((k) => !state[k]);
    if (missing.length) t.skip(`needs earlier step: ${missing.join(", ")}`);
    return missing.length === 0;
}

/** Starts a server for a school imported with `schulhof import` (before serving). */
async function startSchoolServer() {
    const bin = process.env.SCHULHOF_BIN ?? join(repo, "target/debug/schulhof");
    if (!existsSync(bin)) throw new Error(`server binary ${bin} missing (cargo build -p schulhof)`);
    const dir = mkdtempSync(join(tmpdir(), "schulhof-web-"));
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const config = join(dir, "schulhof.toml");
    writeFileSync(
        config,
        [
            `server_name = "schule.test"`,
            `listen = "127.0.0.1:${port}"`,
            `database_url = "sqlite://${join(dir, "schulhof.db")}"`,
            `media_path = "${join(dir, "media")}"`,
            `public_baseurl = "${baseUrl}/"`,
            `school_name = "${SCHOOL}"`,
            ``,
            `[accounts]`,
            `secret_key_file = "${join(dir, "schulhof.key")}"`,
            ``,
        ].join("\n"),
    );
    const csv = join(dir, "schule.csv");
    writeFileSync(csv, IMPORT_CSV);
    const letters = join(dir, "briefe");
    execFileSync(bin, ["--config", config, "import", csv, "--letters", letters], { stdio: ["ignore", "ignore", "inherit"] });
    const logFile = join(dir, "server.log");
    const log = openSync(logFile, "a");
    const child = spawn(bin, ["--config", config, "serve"], { stdio: ["ignore", log, log], env: { RUST_LOG: "info", ...process.env } });
    const deadline = Date.now() + 30000;
    for (;;) {
        if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${readFileSync(logFile, "utf8")}`);
        try {
            if ((await fetch(`${baseUrl}/_matrix/client/versions`)).ok) break;
        } catch {
            // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`server not ready:\n${readFileSync(logFile, "utf8")}`);
        await new Promise((r) => setTimeout(r, 200));
    }
    return {
        baseUrl,
        logFile,
        codes: readStartCodes(join(letters, "zugangsbriefe.csv")),
        stop: async () => {
            if (child.exitCode === null) {
                const exited = new Promise((r) => child.once("exit", r));
                child.kill("SIGTERM");
                await exited;
            }
            if (!process.env.KEEP_SERVER_DIR) rmSync(dir, { recursive: true, force: true });
        },
    };
}

/** Username → start code from the import's `zugangsbriefe.csv` (`;`, UTF-8 with BOM). */
function readStartCodes(file) {
    const [header, ...rows] = readFileSync(file, "utf8").replace(/^\uFEFF/, "").trim().split(/\r?\n/);
    const columns = header.split(";");
    const user = columns.indexOf("Benutzername");
    const code = columns.indexOf("Startcode");
    assert.ok(user >= 0 && code >= 0, `unexpected letter columns: ${header}`);
    return Object.fromEntries(rows.map((r) => r.split(";")).map((f) => [f[user], f[code]]));
}

/** A fresh phone-sized browser context; `js: false` proves a page works without JavaScript. */
async function phonePage({ js = true } = {}) {
    const context = await browser.newContext({ ...PHONE, javaScriptEnabled: js });
    const page = await context.newPage();
    const problems = [];
    page.on("console", (msg) => {
        // Form errors come with status 4xx on purpose; Chromium logs those documents too.
        if (msg.type() === "error" && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text())) {
            problems.push(`console: ${msg.text()}`);
        }
    });
    page.on("pageerror", (err) => problems.push(`page error: ${err}`));
    return { context, page, problems };
}

async function screenshot(page, name) {
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Accessibility basics of the form fields on the page: label, autocomplete, error link. */
async function formProblems(page) {
    return page.evaluate(() => {
        const problems = [];
        if (!document.documentElement.lang) problems.push("html has no lang");
        if (!document.querySelector('meta[name="viewport"]')) problems.push("no viewport meta");
        for (const input of document.querySelectorAll("input:not([type=hidden])")) {
            const label = input.id && document.querySelector(`label[for="${input.id}"]`);
            if (!label || !label.textContent.trim()) problems.push(`${input.name}: no label`);
            if (!input.getAttribute("autocomplete")) problems.push(`${input.name}: no autocomplete`);
            const described = (input.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean);
            for (const id of described) if (!document.getElementById(id)) problems.push(`${input.name}: describedby ${id} missing`);
            if (input.getAttribute("aria-invalid") === "true") {
                const alert = document.querySelector('[role="alert"]');
                if (!alert || !described.includes(alert.id)) problems.push(`${input.name}: invalid but not linked to the alert`);
            }
            const box = input.getBoundingClientRect();
            if (box.height < 44) problems.push(`${input.name}: touch target ${box.height}px high`);
            if (box.right > window.innerWidth) problems.push(`${input.name}: wider than the screen`);
        }
        for (const button of document.querySelectorAll("button:not([hidden])")) {
            if (button.getBoundingClientRect().height < 44) problems.push(`button "${button.textContent}" too small`);
        }
        if (document.documentElement.scrollWidth > window.innerWidth) problems.push("page scrolls sideways");
        return problems;
    });
}

/** Fills and submits the first-login form. */
async function firstLogin(page, { username, code, password, repeat = password }) {
    await page.getByLabel("Benutzername").fill(username);
    await page.getByLabel("Startcode").fill(code);
    await page.getByLabel("Neues Passwort").fill(password);
    await page.getByLabel("Passwort wiederholen").fill(repeat);
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Passwort festlegen" }).click()]);
}

/** A Matrix password login with a raw client request, as Element sends it. */
async function matrixLogin(user, password) {
    const res = await fetch(`${server.baseUrl}/_matrix/client/v3/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user }, password, initial_device_display_name: "Browser-Test" }),
    });
    return { status: res.status, body: await res.json() };
}

describe("web pages: first login and password reset in Chromium (phone size)", { concurrency: 1 }, () => {
    before(async () => {
        server = await startSchoolServer();
        browser = await launchBrowser();
        console.log(`homeserver ${server.baseUrl}, Chromium ${browser.version()}, start codes for ${Object.keys(server.codes).join(", ")}`);
    });

    after(async () => {
        await browser?.close();
        if (process.env.SHOW_SERVER_LOG && server) console.log(readFileSync(server.logFile, "utf8"));
        await server?.stop();
    });

    test("/erstanmeldung is a German, accessible form with strict security headers (no JavaScript)", async () => {
        const { context, page } = await phonePage({ js: false });
        const res = await page.goto(`${server.baseUrl}/erstanmeldung`);
        assert.equal(res.status(), 200);
        const headers = res.headers();
        assert.equal(headers["content-security-policy"], EXPECTED_CSP);
        assert.equal(headers["x-frame-options"], "DENY");
        assert.equal(headers["referrer-policy"], "no-referrer");
        assert.equal(headers["cache-control"], "no-store");
        const cookie = (await res.headerValue("set-cookie")) ?? "";
        assert.match(cookie, /schulhof_csrf=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict/);
        assert.equal(await page.getAttribute("html", "lang"), "de");
        assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Erste Anmeldung");
        assert.ok((await page.title()).includes(SCHOOL));
        assert.equal(await page.getByLabel("Startcode").getAttribute("autocomplete"), "one-time-code");
        assert.equal(await page.getByLabel("Neues Passwort").getAttribute("autocomplete"), "new-password");
        assert.deepEqual(await formProblems(page), []);
        await screenshot(page, "01-erstanmeldung");
        state.page = true;
        await context.close();
    });

    test("a wrong start code is refused with the same message as an unknown user", async (t) => {
        if (!requires(t, "page")) return;
        const { context, page } = await phonePage({ js: false });
        await page.goto(`${server.baseUrl}/erstanmeldung`);
        const wrong = server.codes[ANNA.localpart] === "000000" ? "000001" : "000000";
        await firstLogin(page, { username: ANNA.localpart, code: wrong, password: ANNA.password });
        const alert = await page.getByRole("alert").textContent();
        assert.match(alert, /Benutzername oder Startcode ist falsch/);
        assert.equal(await page.getByLabel("Startcode").getAttribute("aria-invalid"), "true");
        assert.equal(await page.getByLabel("Benutzername").inputValue(), ANNA.localpart, "user name is kept");
        assert.deepEqual(await formProblems(page), []);
        assert.match(await page.title(), /^Fehler: /);
        await screenshot(page, "02-erstanmeldung-falscher-code");

        await firstLogin(page, { username: "niemand.da", code: "123456", password: ANNA.password });
        assert.equal(await page.getByRole("alert").textContent(), alert, "no user enumeration");
        await context.close();
    });

    test("a weak or mismatched password names the rule and keeps the start code", async (t) => {
        if (!requires(t, "page")) return;
        const { context, page } = await phonePage({ js: false });
        await page.goto(`${server.baseUrl}/erstanmeldung`);
        const code = server.codes[ANNA.localpart];
        await firstLogin(page, { username: ANNA.localpart, code, password: "sommer" });
        assert.equal(
            await page.getByRole("alert").textContent(),
            "Das Passwort muss mindestens 8 Zeichen lang sein und einen Großbuchstaben, eine Ziffer und ein Sonderzeichen enthalten.",
        );
        assert.equal(await page.getByLabel("Neues Passwort").getAttribute("aria-invalid"), "true");
        assert.equal(await page.getByLabel("Startcode").inputValue(), code, "start code is kept");
        assert.deepEqual(await formProblems(page), []);
        await screenshot(page, "03-erstanmeldung-schwaches-passwort");

        await firstLogin(page, { username: ANNA.localpart, code, password: "Sommer2025!" });
        assert.match(await page.getByRole("alert").textContent(), /zu bekannt/);
        await firstLogin(page, { username: ANNA.localpart, code, password: "Anna-Schmidt-9!" });
        assert.match(await page.getByRole("alert").textContent(), /Namen/);
        await firstLogin(page, { username: ANNA.localpart, code, password: ANNA.password, repeat: `${ANNA.password}x` });
        assert.match(await page.getByRole("alert").textContent(), /stimmen nicht überein/);
        assert.equal(await page.getByLabel("Passwort wiederholen").getAttribute("aria-invalid"), "true");
        await context.close();
    });

    test("teacher and student choose their passwords, then log in with a Matrix client", async (t) => {
        if (!requires(t, "page")) return;
        const { context, page } = await phonePage({ js: false });
        await page.goto(`${server.baseUrl}/erstanmeldung`);
        const before = await matrixLogin(ANNA.localpart, ANNA.password);
        assert.equal(before.status, 403, "no login before the first password");
        assert.match(before.body.error, /erstanmeldung/);

        await firstLogin(page, { username: ANNA.localpart, code: server.codes[ANNA.localpart], password: ANNA.password });
        const text = await page.locator("main").textContent();
        assert.match(text, /Dein Passwort ist gesetzt\./);
        assert.ok(text.includes(`Melde dich jetzt in Element mit deinem Benutzernamen ${ANNA.userId} an.`), text);
        assert.ok(text.includes(`${server.baseUrl}/`), "homeserver URL shown");
        await screenshot(page, "04-erstanmeldung-erfolg");

        const anna = await matrixLogin(ANNA.localpart, ANNA.password);
        assert.equal(anna.status, 200, JSON.stringify(anna.body));
        assert.equal(anna.body.user_id, ANNA.userId);

        await page.goto(`${server.baseUrl}/erstanmeldung`);
        await firstLogin(page, { username: ANNA.localpart, code: server.codes[ANNA.localpart], password: "Noch-Einmal-11!" });
        assert.match(await page.getByRole("alert").textContent(), /falsch oder der Startcode ist abgelaufen/, "a start code works once");

        await page.goto(`${server.baseUrl}/erstanmeldung`);
        await firstLogin(page, { username: BEN.localpart, code: server.codes[BEN.localpart], password: BEN.password });
        assert.match(await page.locator("main").textContent(), /Dein Passwort ist gesetzt\./);
        const ben = await matrixLogin(BEN.localpart, BEN.password);
        assert.equal(ben.status, 200, JSON.stringify(ben.body));
        state.benToken = ben.body.access_token;
        state.passwords = true;
        await context.close();
    });

    test("repeated wrong start codes are rate-limited with the waiting time", async (t) => {
        if (!requires(t, "page")) return;
        const { context, page } = await phonePage({ js: false });
        await page.goto(`${server.baseUrl}/erstanmeldung`);
        let alert = "";
        for (let i = 0; i < 8 && !alert.includes("Zu viele Versuche"); i++) {
            await firstLogin(page, { username: MIA.localpart, code: "999999", password: "Lange-Nacht-31!" });
            alert = await page.getByRole("alert").textContent();
        }
        assert.match(alert, /^Zu viele Versuche\. Bitte warte \d+ Sekunden\.$/);
        await screenshot(page, "05-erstanmeldung-zu-viele-versuche");
        await context.close();
    });

    test("a student may not use /passwort-zuruecksetzen", async (t) => {
        if (!requires(t, "passwords")) return;
        const { context, page } = await phonePage({ js: false });
        await page.goto(`${server.baseUrl}/passwort-zuruecksetzen`);
        await page.getByLabel("Benutzername").fill(BEN.localpart);
        await page.getByLabel("Passwort", { exact: true }).fill(BEN.password);
        await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Anmelden" }).click()]);
        assert.match(await page.getByRole("alert").textContent(), /Nur Lehrkräfte und die Schulleitung/);
        assert.equal(await page.getByLabel("Benutzername der Person").count(), 0);
        await screenshot(page, "06-zuruecksetzen-nicht-erlaubt");
        await context.close();
    });

    test("the teacher resets her student's password and gets a printable letter", async (t) => {
        if (!requires(t, "passwords")) return;
        const { context, page, problems } = await phonePage({ js: true });
        const res = await page.goto(`${server.baseUrl}/passwort-zuruecksetzen`);
        assert.equal(res.headers()["content-security-policy"], EXPECTED_CSP);
        assert.equal(await page.getByLabel("Passwort", { exact: true }).getAttribute("autocomplete"), "current-password");
        assert.deepEqual(await formProblems(page), []);
        await screenshot(page, "07-zuruecksetzen-anmeldung");

        await page.getByLabel("Benutzername").fill(ANNA.localpart);
        await page.getByLabel("Passwort", { exact: true }).fill("Falsches-Passwort-1!");
        await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Anmelden" }).click()]);
        assert.match(await page.getByRole("alert").textContent(), /Benutzername oder Passwort ist falsch/);

        await page.getByLabel("Passwort", { exact: true }).fill(ANNA.password);
        await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Anmelden" }).click()]);
        const cookies = await context.cookies();
        const session = cookies.find((c) => c.name === "schulhof_web_session");
        assert.ok(session && session.httpOnly && session.sameSite === "Strict", JSON.stringify(cookies));
        assert.match(await page.locator(".who").textContent(), /Angemeldet als\s+Anna Schmidt/);
        assert.deepEqual(await formProblems(page), []);
        await screenshot(page, "08-zuruecksetzen-formular");

        const target = page.getByLabel("Benutzername der Person");
        await target.fill(MIA.localpart);
        await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Passwort zurücksetzen" }).click()]);
        assert.match(await page.getByRole("alert").textContent(), /Du darfst das Passwort von „mia\.wagner“ nicht zurücksetzen/);
        assert.equal(await target.getAttribute("aria-invalid"), "true");
        await screenshot(page, "09-zuruecksetzen-fremde-klasse");

        await target.fill(BEN.localpart);
        await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Passwort zurücksetzen" }).click()]);
        const letterRes = await page.waitForLoadState().then(() => page.content());
        assert.match(letterRes, /Dein Zugang zum Schul-Messenger/);
        assert.match(await page.getByRole("status").textContent(), /Das Passwort von Ben Müller ist zurückgesetzt/);
        const code = (await page.locator("td.code").textContent()).replace(/\s/g, "");
        assert.match(code, /^\d{6}$/);
        assert.notEqual(code, server.codes[BEN.localpart]);
        assert.ok(await page.getByRole("button", { name: "Drucken" }).isVisible(), "print button shown by the page's script");
        await screenshot(page, "10-zugangsbrief");
        await page.emulateMedia({ media: "print" });
        assert.equal(await page.getByRole("button", { name: "Drucken" }).isVisible(), false, "toolbar hidden in print");
        await page.emulateMedia({ media: "screen" });
        state.newCode = code;

        await page.getByRole("link", { name: "Weiteres Passwort zurücksetzen" }).click();
        await page.getByRole("button", { name: "Abmelden" }).click();
        await page.waitForLoadState();
        assert.match(await page.getByRole("status").textContent(), /Du bist abgemeldet/);
        assert.equal(await page.getByLabel("Benutzername der Person").count(), 0);
        assert.deepEqual(problems, [], "no CSP or script errors");
        await context.close();
    });

    test("after the reset the student's old password and sessions are gone; the new code works", async (t) => {
        if (!requires(t, "newCode")) return;
        const whoami = await fetch(`${server.baseUrl}/_matrix/client/v3/account/whoami`, { headers: { authorization: `Bearer ${state.benToken}` } });
        assert.equal(whoami.status, 401, "old session revoked");
        const old = await matrixLogin(BEN.localpart, BEN.password);
        assert.equal(old.status, 403, JSON.stringify(old.body));

        const { context, page } = await phonePage({ js: false });
        await page.goto(`${server.baseUrl}/erstanmeldung?benutzer=${BEN.localpart}`);
        assert.equal(await page.getByLabel("Benutzername").inputValue(), BEN.localpart, "user name from the link");
        await firstLogin(page, { username: BEN.localpart, code: state.newCode, password: BEN.newPassword });
        assert.match(await page.locator("main").textContent(), /Dein Passwort ist gesetzt\./);
        await context.close();

        const fresh = await matrixLogin(BEN.localpart, BEN.newPassword);
        assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
        assert.equal(fresh.body.user_id, BEN.userId);
        assert.equal((await matrixLogin(BEN.localpart, BEN.password)).status, 403, "old password still refused");
    });

    test("English with ?lang=en", async (t) => {
        if (!requires(t, "page")) return;
        const { context, page } = await phonePage({ js: false });
        await page.goto(`${server.baseUrl}/erstanmeldung?lang=en`);
        assert.equal(await page.getAttribute("html", "lang"), "en");
        assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "First login");
        await page.getByLabel("User name").fill(MIA.localpart);
        await page.getByLabel("Start code").fill("12345");
        await page.getByLabel("New password").fill("short");
        await page.getByLabel("Repeat password").fill("short");
        await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Set password" }).click()]);
        assert.match(page.url(), /\?lang=en$/);
        assert.match(await page.getByRole("alert").textContent(), /^The password must be at least 8 characters long/);
        await screenshot(page, "11-first-login-en");
        await context.close();
    });
});
