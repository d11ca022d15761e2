// Scheduled sending (MSC4140 delayed events) with matrix-js-sdk's own calls in headless
// Chromium: Anna schedules messages and a topic change, lists them, cancels one (as the SDK
// does today, and with its deprecated call, which first tries without a token), sends one at
// once; Ben sees the sent ones when they are due and never the cancelled ones, and sees none of
// Anna's scheduled events in his own list.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { isExpectedError, launchBrowser, openClientPage, startHomeserver, startPageServer } from "./harness.mjs";

const ANNA = { localpart: "anna", password: "Anna-Geheim-1!", displayName: "Anna Schmidt", userId: "@anna:schule.test" };
const BEN = { localpart: "ben", password: "Ben-Geheim-1!", displayName: "Ben Müller", userId: "@ben:schule.test" };

let hs;
let web;
let browser;
let anna;
let ben;
/** What earlier steps established; later steps skip when a prerequisite is missing. */
const state = {};

function call(who, fn, ...args) {
    return who.page.evaluate(([f, a]) => window.mx[f](...a), [fn, args]);
}

function requires(t, ...keys) {
    const missing = keys.filter((k) => !state[k]);
    if (missing.length) t.skip(`needs earlier step: ${missing.join(", ")}`);
    return missing.length === 0;
}

/** The delay IDs of a listing. */
function ids(listing) {
    assert.ok(Array.isArray(listing.delayed_events), JSON.stringify(listing));
    return listing.delayed_events.map((e) => e.delay_id);
}

/**
 * The one error the SDK provokes on purpose: its deprecated call asks without a token first and
 * retries with one on 401 `M_MISSING_TOKEN`.
 */
function isTokenProbe(e) {
    return e.status === 401 && /\/org\.matrix\.msc4140\/delayed_events\/[^/]+$/.test(new URL(e.url).pathname);
}

describe("scheduled sending with matrix-js-sdk", { concurrency: 1 }, () => {
    before(async () => {
        hs = await startHomeserver([ANNA, BEN]);
        web = await startPageServer();
        browser = await launchBrowser();
        anna = await openClientPage(browser, web.url, hs.baseUrl, "Browser (anna)");
        ben = await openClientPage(browser, web.url, hs.baseUrl, "Browser (ben)");
    });

    after(async () => {
        for (const who of [anna, ben]) {
            if (who) await call(who, "stop").catch(() => {});
        }
        await browser?.close();
        web?.stop();
        if (process.env.SHOW_SERVER_LOG && hs) console.log(readFileSync(hs.logFile, "utf8"));
        await hs?.stop();
    });

    test("both log in; Anna's room, Ben joins", async () => {
        await call(anna, "login", hs.baseUrl, ANNA.localpart, ANNA.password);
        await call(ben, "login", hs.baseUrl, BEN.localpart, BEN.password);
        const room = await call(anna, "tryCreateRoom", { name: "Klassenfahrt", preset: "public_chat" });
        assert.ok(room.roomId, JSON.stringify(room));
        await call(ben, "join", room.roomId);
        await call(anna, "waitForMembership", room.roomId, BEN.userId, "join");
        state.roomId = room.roomId;
    });

    test("Anna schedules; only she lists them", async (t) => {
        if (!requires(t, "roomId")) return;
        const schedule = async (delay, body) => {
            const res = await call(anna, "delayed", "sendMessage", state.roomId, delay, body);
            assert.ok(res.delay_id, JSON.stringify(res));
            return res.delay_id;
        };
        state.soon = await schedule(4000, "Abfahrt in vier Sekunden");
        state.cancelled = await schedule(60000, "Wird abgesagt");
        state.legacy = await schedule(60000, "Wird auch abgesagt");
        state.now = await schedule(60000, "Sofort statt später");
        const topic = await call(anna, "delayed", "sendTopic", state.roomId, 3000, "Klassenfahrt nach Rügen");
        assert.ok(topic.delay_id, JSON.stringify(topic));
        state.topic = topic.delay_id;

        const listed = ids(await call(anna, "delayed", "list"));
        for (const id of [state.cancelled, state.legacy, state.now]) assert.ok(listed.includes(id), `${id} in ${listed}`);
        assert.deepEqual(ids(await call(ben, "delayed", "list")), []);
    });

    test("cancel (current and deprecated call) and send now", async (t) => {
        if (!requires(t, "now")) return;
        assert.deepEqual(await call(anna, "delayed", "cancel", state.cancelled), {});
        assert.deepEqual(await call(anna, "delayed", "legacyCancel", state.legacy), {});
        assert.deepEqual(await call(anna, "delayed", "send", state.now), {});
        await call(ben, "waitForMessage", state.roomId, ANNA.userId, "Sofort statt später");
        state.managed = true;
    });

    test("Ben gets the due message and topic; the cancelled ones are finalised, not sent", async (t) => {
        if (!requires(t, "managed")) return;
        await call(ben, "waitForMessage", state.roomId, ANNA.userId, "Abfahrt in vier Sekunden");
        await call(ben, "waitForTopic", state.roomId, "Klassenfahrt nach Rügen");
        const finalised = await call(anna, "delayed", "list", "finalised");
        const byId = Object.fromEntries(finalised.delayed_events.map((e) => [e.delay_id, e]));
        for (const id of [state.soon, state.now, state.topic]) assert.match(byId[id]?.event_id ?? "", /^\$/, JSON.stringify(byId[id]));
        for (const id of [state.cancelled, state.legacy]) {
            assert.ok(byId[id], `${id} finalised`);
            assert.equal(byId[id].event_id, undefined);
        }
        assert.deepEqual(ids(await call(anna, "delayed", "list")), []);
        state.done = true;
    });

    test("no HTTP errors but the SDK's token probe", async (t) => {
        if (!requires(t, "done")) return;
        for (const who of [anna, ben]) {
            const unexpected = who.rec.httpErrors.filter((e) => !isExpectedError(e) && !isTokenProbe(e));
            assert.deepEqual(unexpected, [], who.rec.label);
            assert.deepEqual(who.rec.pageErrors, [], who.rec.label);
        }
    });
});
