// Test harness: a Schulhof server of its own, a static server for the page (another origin) and
// headless Chromium pages that record every request they make to the homeserver.
import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");

/** Chromium from Debian, started like a fresh browser profile without background traffic. */
export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/** A free TCP port on 127.0.0.1. */
export function freePort() {
    return new Promise((resolvePort, reject) => {
        const srv = createNetServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const { port } = srv.address();
            srv.close(() => resolvePort(port));
        });
    });
}

/**
 * Starts `schulhof serve` with a temporary SQLite configuration and the given accounts
 * (`schulhof user add`); with `school`, first imports `school.csv` (`schulhof import`) and sets
 * the password of each of `school.people` (`schulhof user set-password`). With
 * `schoolAppservice`, the school appservice runs in-process (registration written here, the
 * default `appservice.toml`), so the school's groups become rooms and spaces.
 */
export async function startHomeserver(users, school = null, { schoolAppservice = false } = {}) {
    const bin = process.env.SCHULHOF_BIN ?? join(repo, "target/debug/schulhof");
    if (!existsSync(bin)) throw new Error(`server binary ${bin} missing (cargo build -p schulhof)`);
    const dir = mkdtempSync(join(tmpdir(), "schulhof-browser-"));
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const config = join(dir, "schulhof.toml");
    const appservice = [];
    const topLevel = [];
    if (schoolAppservice) {
        const registration = join(dir, "schule-appservice.yaml");
        writeFileSync(
            registration,
            [
                `id: schulhof-schule`,
                `url: "http://127.0.0.1:${await freePort()}"`,
                `as_token: "as-token-browser"`,
                `hs_token: "hs-token-browser"`,
                `sender_localpart: schulhof-schule`,
                `rate_limited: false`,
                `de.schulhof.admin_join: any`,
                `namespaces:`,
                `  aliases:`,
                `    - exclusive: true`,
                `      regex: "#schule_.*:schule\\\\.test"`,
                ``,
            ].join("\n"),
        );
        topLevel.push(`appservices = ["${registration}"]`);
        appservice.push(
            `[school_appservice]`,
            `registration = "schulhof-schule"`,
            `in_process = true`,
            `config = "${join(dir, "appservice.toml")}"`,
        );
    }
    writeFileSync(
        config,
        [
            ...topLevel,
            `server_name = "schule.test"`,
            `listen = "127.0.0.1:${port}"`,
            `database_url = "sqlite://${join(dir, "schulhof.db")}"`,
            `media_path = "${join(dir, "media")}"`,
            `public_baseurl = "${baseUrl}/"`,
            `school_name = "Browser-Testschule"`,
            ``,
            `[rate_limits]`,
            `enabled = false`,
            ``,
            `[accounts]`,
            `secret_key_file = "${join(dir, "schulhof.key")}"`,
            ``,
            ...appservice,
            ``,
        ].join("\n"),
    );
    if (school) {
        const csv = join(dir, "schule.csv");
        writeFileSync(csv, school.csv);
        const letters = join(dir, "briefe");
        execFileSync(bin, ["--config", config, "import", csv, "--letters", letters], { stdio: ["ignore", "ignore", "inherit"] });
        for (const p of school.people) {
            execFileSync(bin, ["--config", config, "user", "set-password", p.localpart], {
                input: `${p.password}\n`,
                stdio: ["pipe", "ignore", "inherit"],
            });
        }
    }
    for (const u of users) {
        execFileSync(bin, ["--config", config, "user", "add", u.localpart, "--password", u.password, "--display-name", u.displayName], {
            stdio: ["ignore", "ignore", "inherit"],
        });
    }
    const logFile = join(dir, "server.log");
    const log = openSync(logFile, "a");
    const child = spawn(bin, ["--config", config, "serve"], { stdio: ["ignore", log, log], env: { RUST_LOG: "info", ...process.env } });
    const deadline = Date.now() + 30000;
    for (;;) {
        if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${readFileSync(logFile, "utf8")}`);
        try {
            const res = await fetch(`${baseUrl}/_matrix/client/versions`);
            if (res.ok) break;
        } catch {
            // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`server not ready:\n${readFileSync(logFile, "utf8")}`);
        await new Promise((r) => setTimeout(r, 200));
    }
    return {
        baseUrl,
        dir,
        logFile,
        /** Stops the server and removes its directory (kept when KEEP_SERVER_DIR is set). */
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

const CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".map": "application/json",
    ".wasm": "application/wasm",
};

/** Serves dist/ (the bundled page) on its own origin, like app.element.io serves Element Web. */
export async function startPageServer() {
    const root = join(here, "dist");
    const server = createServer((req, res) => {
        const path = new URL(req.url, "http://x").pathname;
        const file = normalize(join(root, path === "/" ? "index.html" : path));
        if (!file.startsWith(root) || !existsSync(file)) {
            res.writeHead(404).end("not found");
            return;
        }
        res.writeHead(200, { "content-type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream" });
        res.end(readFileSync(file));
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${server.address().port}/`, stop: () => server.close() };
}

/** Starts headless Chromium. */
export function launchBrowser() {
    return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * Opens the page in a fresh browser context (own storage: one "browser" per user) and records
 * every homeserver request, every response >= 400 (with its body), failed requests, console
 * errors and uncaught page errors.
 */
export async function openClientPage(browser, pageUrl, hsBaseUrl, label) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const rec = { label, requests: [], httpErrors: [], failedRequests: [], consoleErrors: [], pageErrors: [] };
    page.on("request", (req) => {
        if (req.url().startsWith(hsBaseUrl)) rec.requests.push(`${req.method()} ${new URL(req.url()).pathname}`);
    });
    page.on("response", async (res) => {
        if (res.status() < 400) return;
        const req = res.request();
        const body = await res.text().catch(() => "<no body>");
        rec.httpErrors.push({ method: req.method(), url: res.url(), status: res.status(), requestBody: req.postData() ?? null, body });
    });
    page.on("requestfailed", (req) => {
        rec.failedRequests.push({ method: req.method(), url: req.url(), error: req.failure()?.errorText });
    });
    page.on("console", (msg) => {
        if (msg.type() === "error") rec.consoleErrors.push({ text: msg.text(), url: msg.location()?.url ?? "" });
    });
    page.on("pageerror", (err) => rec.pageErrors.push(String(err?.stack ?? err)));
    await page.goto(pageUrl);
    await page.waitForFunction(() => window.mxReady === true, null, { timeout: 30000 });
    return { context, page, rec };
}

/**
 * Error answers that are part of normal operation: the 401 that starts user-interactive auth
 * for cross-signing keys, and 404s that are the documented way of saying "nothing there" (no
 * key backup yet, unset account data, unstable MSC endpoints the server does not offer).
 */
export function isExpectedError(e) {
    const path = new URL(e.url).pathname;
    let body;
    try {
        body = JSON.parse(e.body);
    } catch {
        return false;
    }
    if (e.status === 401) return /\/keys\/device_signing\/upload$/.test(path) && Array.isArray(body.flows) && !body.errcode;
    if (e.status !== 404) return false;
    const errcode = body.errcode;
    if (errcode === "M_NOT_FOUND") return /\/room_keys\/version$|\/account_data\/|\/dehydrated_device/.test(path);
    if (errcode === "M_UNRECOGNIZED") return /\/unstable\/org\.matrix\.msc\d+/.test(path);
    return false;
}
