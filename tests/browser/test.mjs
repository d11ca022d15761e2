// Element's client stack in two headless Chromium profiles against a real Schulhof server: two
// users log in, one creates an encrypted room, invites, sends; the other accepts, reads, replies.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { isExpectedError, launchBrowser, openClientPage, startHomeserver, startPageServer } from "./harness.mjs";

const ANNA = { localpart: "anna", password: "Browser-Test-Anna1!", displayName: "Anna Schmidt", userId: "@anna:schule.test" };
const BEN = { localpart: "ben", password: "Browser-Test-Ben1!", displayName: "Ben Müller", userId: "@ben:schule.test" };
const HELLO = "Hallo aus Browser A";
const REPLY = "Antwort aus Browser B";
const LATER = "Noch eine Nachricht für beide Geräte";

let hs;
let web;
let browser;
/** The pages: `a` (Anna), `b` (Ben), later `a2` (Anna's second device). */
const pages = {};
/** What earlier steps established; later steps skip when a prerequisite is missing. */
const state = {};

/** Calls `window.mx[fn](...args)` in a user's page. */
function mx(who, fn, ...args) {
    return pages[who].page.evaluate(([f, a]) => window.mx[f](...a), [fn, args]);
}

/** Skips the test when an earlier step it builds on did not succeed. */
function requires(t, ...keys) {
    const missing = keys.filter((k) => !state[k]);
    if (missing.length) t.skip(`needs earlier step: ${missing.join(", ")}`);
    return missing.length === 0;
}

/** "METHOD path" list with IDs folded and repeats counted, e.g. "GET /sync ×5". */
function endpointSummary(requests) {
    const counts = new Map();
    for (const r of requests) {
        const key = r
            .replace("/_matrix/client", "")
            .replace(/\/([!@$][^/]+|%(21|40|24)[^/]+)/g, "/{id}")
            .replace(/\/(send\/[^/]+|sendToDevice\/[^/]+|state\/[^/]+|redact\/[^/]+)\/[^/]+$/, "/$1/{txn}");
        counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k)).join(", ");
}

/** Prints what a page recorded: unexpected HTTP errors, failed requests, console/page errors. */
function report(rec) {
    const lines = [];
    for (const e of rec.httpErrors) {
        const tag = isExpectedError(e) ? "expected" : "UNEXPECTED";
        lines.push(`  [${tag}] ${e.method} ${e.url} -> ${e.status} ${e.body}`);
        if (!isExpectedError(e) && e.requestBody) lines.push(`      request body: ${e.requestBody.slice(0, 2000)}`);
    }
    for (const f of rec.failedRequests) lines.push(`  [failed] ${f.method} ${f.url}: ${f.error}`);
    for (const c of rec.consoleErrors) lines.push(`  [console.error] ${c.text.slice(0, 500)}`);
    for (const p of rec.pageErrors) lines.push(`  [page error] ${p.slice(0, 1000)}`);
    console.log(`--- ${rec.label}: ${rec.requests.length} homeserver requests: ${endpointSummary(rec.requests)}`);
    console.log(lines.join("\n") || "  (no errors)");
}

describe("Element client stack (matrix-js-sdk + Rust crypto) in Chromium", { concurrency: 1 }, () => {
    before(async () => {
        hs = await startHomeserver([ANNA, BEN]);
        web = await startPageServer();
        browser = await launchBrowser();
        pages.a = await openClientPage(browser, web.url, hs.baseUrl, "Browser A (anna)");
        pages.b = await openClientPage(browser, web.url, hs.baseUrl, "Browser B (ben)");
        console.log(`homeserver ${hs.baseUrl}, page ${web.url}, Chromium ${browser.version()}`);
    });

    after(async () => {
        for (const who of ["a", "b", "a2"]) {
            if (!pages[who]) continue;
            await mx(who, "stop").catch(() => {});
            report(pages[who].rec);
        }
        await browser?.close();
        web?.stop();
        if (process.env.SHOW_SERVER_LOG && hs) console.log(readFileSync(hs.logFile, "utf8"));
        await hs?.stop();
    });

    test("both users log in with a password and start syncing with Rust crypto", async () => {
        const [a, b] = await Promise.all([
            mx("a", "login", hs.baseUrl, ANNA.localpart, ANNA.password),
            mx("b", "login", hs.baseUrl, BEN.localpart, BEN.password),
        ]);
        console.log(`anna: ${JSON.stringify(a)}\nben: ${JSON.stringify(b)}`);
        assert.equal(a.userId, ANNA.userId);
        assert.equal(b.userId, BEN.userId);
        assert.ok(a.flows.includes("m.login.password"));
        assert.match(a.cryptoVersion ?? "", /Rust SDK/);
        state.loggedIn = true;
    });

    test("Anna creates an encrypted room and invites Ben", async (t) => {
        if (!requires(t, "loggedIn")) return;
        const roomId = await mx("a", "createEncryptedRoom", "Klasse 7b (verschlüsselt)");
        assert.ok(await mx("a", "isRoomEncrypted", roomId), "room is not encrypted for Anna");
        await mx("a", "invite", roomId, BEN.userId);
        state.roomId = roomId;
    });

    test("Ben sees the invite and joins", async (t) => {
        if (!requires(t, "roomId")) return;
        const inv = await mx("b", "waitForInvite", state.roomId);
        assert.equal(inv.inviter, ANNA.userId);
        const joined = await mx("b", "join", state.roomId);
        assert.ok(joined.encrypted, "room is not encrypted for Ben");
        await mx("a", "waitForMembership", state.roomId, BEN.userId, "join");
        state.joined = true;
    });

    test("Anna sends an encrypted message, Ben decrypts it", async (t) => {
        if (!requires(t, "joined")) return;
        await mx("a", "send", state.roomId, HELLO);
        const msg = await mx("b", "waitForMessage", state.roomId, ANNA.userId, HELLO);
        assert.equal(msg.wireType, "m.room.encrypted");
        assert.equal(msg.decryptionFailure, null);
        assert.equal(msg.body, HELLO);
        assert.equal(msg.senderName, ANNA.displayName);
        state.hello = msg.eventId;
    });

    test("Ben replies encrypted, Anna decrypts it", async (t) => {
        if (!requires(t, "hello")) return;
        await mx("b", "send", state.roomId, REPLY);
        const msg = await mx("a", "waitForMessage", state.roomId, BEN.userId, REPLY);
        assert.equal(msg.wireType, "m.room.encrypted");
        assert.equal(msg.decryptionFailure, null);
        assert.equal(msg.body, REPLY);
        assert.equal(msg.senderName, BEN.displayName);
        state.reply = msg.eventId;
    });

    test("Ben's read receipt reaches Anna", async (t) => {
        if (!requires(t, "hello")) return;
        await mx("b", "markRead", state.roomId, state.hello);
        await mx("a", "waitForReadReceipt", state.roomId, BEN.userId, state.hello);
    });

    test("Anna sets up cross-signing (UIA with password), Ben sees her keys", async (t) => {
        if (!requires(t, "loggedIn")) return;
        const res = await mx("a", "bootstrapCrossSigning", ANNA.password);
        assert.ok(res.ready, "cross-signing not ready");
        assert.ok(await mx("b", "hasCrossSigningKeys", ANNA.userId), "Ben does not see Anna's cross-signing keys");
    });

    test("Anna backs up her room keys on the server", async (t) => {
        if (!requires(t, "hello")) return;
        const res = await mx("a", "setUpKeyBackup");
        console.log(`key backup: ${JSON.stringify(res)}`);
        assert.ok(res.offered, `server does not offer key backup: POST room_keys/version -> ${res.status} ${res.errcode}`);
        assert.equal(res.algorithm, "m.megolm_backup.v1.curve25519-aes-sha2");
        assert.ok(res.count >= 1);
    });

    test("Anna's second browser gets Ben's next message (device list tracking)", async (t) => {
        if (!requires(t, "reply")) return;
        pages.a2 = await openClientPage(browser, web.url, hs.baseUrl, "Browser A2 (anna, second device)");
        const a2 = await mx("a2", "login", hs.baseUrl, ANNA.localpart, ANNA.password);
        await mx("b", "waitForDevice", ANNA.userId, a2.deviceId);
        await mx("b", "send", state.roomId, LATER);
        for (const who of ["a", "a2"]) {
            const msg = await mx(who, "waitForMessage", state.roomId, BEN.userId, LATER);
            assert.equal(msg.decryptionFailure, null, `${who}: ${msg.decryptionFailure}`);
        }
    });

    test("the E2EE endpoints were used without HTTP, CORS or script errors", async (t) => {
        if (!requires(t, "loggedIn")) return;
        const problems = [];
        for (const who of ["a", "b", "a2"]) {
            if (!pages[who]) continue;
            const { rec } = pages[who];
            const used = (re) => rec.requests.some((r) => re.test(r));
            // The second device only receives; both main users send to-device room keys.
            for (const [name, re] of [
                ["login", /^POST \/_matrix\/client\/(v3|r0)\/login$/],
                ["sync", /^GET \/_matrix\/client\/(v3|r0)\/sync$/],
                ["keys/upload", /^POST \/_matrix\/client\/(v3|r0)\/keys\/upload$/],
                ["keys/query", /^POST \/_matrix\/client\/(v3|r0)\/keys\/query$/],
                ["sendToDevice", /^PUT \/_matrix\/client\/(v3|r0)\/sendToDevice\/m\.room\.encrypted\//],
            ].slice(0, who === "a2" ? 4 : 5)) {
                if (!used(re)) problems.push(`${rec.label}: never called ${name}`);
            }
            for (const e of rec.httpErrors.filter((e) => !isExpectedError(e))) {
                problems.push(`${rec.label}: ${e.method} ${e.url} -> ${e.status} ${e.body}`);
            }
            for (const f of rec.failedRequests.filter((f) => f.error !== "net::ERR_ABORTED")) {
                problems.push(`${rec.label}: request failed ${f.method} ${f.url}: ${f.error}`);
            }
            for (const c of rec.consoleErrors.filter((c) => /CORS|Access-Control/i.test(c.text))) {
                problems.push(`${rec.label}: ${c.text}`);
            }
            for (const p of rec.pageErrors) problems.push(`${rec.label}: uncaught ${p}`);
        }
        const claimed = ["a", "b"].some((w) => pages[w].rec.requests.some((r) => /\/keys\/claim$/.test(r)));
        if (!claimed) problems.push("nobody called keys/claim");
        assert.deepEqual(problems, []);
    });
});
