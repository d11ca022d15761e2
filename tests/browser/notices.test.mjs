// A refusal a student understands in Element: Element's client stack (matrix-js-sdk + Rust
// crypto) in headless Chromium, logged in as a student of an imported school. The student tries
// what Element offers (a new room, a direct chat with a child of another class); the server
// refuses with its text and the reason arrives as a message in the student's notices room, the
// room Element lists under "Systemwarnungen" (tag m.server_notice). A direct chat with a
// classmate who never logged in is encrypted all the same.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { isExpectedError, launchBrowser, openClientPage, startHomeserver, startPageServer } from "./harness.mjs";

const SCHOOL = {
    csv: [
        "ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung",
        "L-1;Anna;Schmidt;Lehrkraft;Lehrer, Klasse 4a;;ja",
        "S-1;Ben;Müller;Schüler;Klasse 4a;;ja",
        "S-2;Zoë;Yılmaz;Schülerin;Klasse 4a;;ja",
        "S-3;Mia;Weber;Schülerin;Klasse 4b;;ja",
    ].join("\n"),
    people: [{ localpart: "ben.mueller", password: "Rad-Fahren-2025?" }],
};
const BEN = { ...SCHOOL.people[0], userId: "@ben.mueller:schule.test" };
const NO_ROOMS =
    "Du kannst keine Chaträume anlegen und niemanden einladen. Du kannst aber Personen aus deiner Klasse und Lehrkräften direkt schreiben.";
const OTHER_CLASS =
    "Du kannst nur Personen aus deiner Klasse und deinen Gruppen und Lehrkräften schreiben. Eine Lehrkraft kann euch zusammen in einen Raum einladen.";

let hs;
let web;
let browser;
let ben;
/** What earlier steps established; later steps skip when a prerequisite is missing. */
const state = {};

function mx(fn, ...args) {
    return ben.page.evaluate(([f, a]) => window.mx[f](...a), [fn, args]);
}

function requires(t, ...keys) {
    const missing = keys.filter((k) => !state[k]);
    if (missing.length) t.skip(`needs earlier step: ${missing.join(", ")}`);
    return missing.length === 0;
}

/** Element's direct chat with `userId` before anyone wrote (no initial_state: the other has no devices). */
function directChat(userId) {
    return { is_direct: true, preset: "trusted_private_chat", invite: [userId] };
}

describe("a refusal reaches the student in Element's notices room", { concurrency: 1 }, () => {
    before(async () => {
        hs = await startHomeserver([], SCHOOL);
        web = await startPageServer();
        browser = await launchBrowser();
        ben = await openClientPage(browser, web.url, hs.baseUrl, "Browser (ben.mueller, Klasse 4a)");
    });

    after(async () => {
        await mx("stop").catch(() => {});
        await browser?.close();
        web?.stop();
        if (process.env.SHOW_SERVER_LOG && hs) console.log(readFileSync(hs.logFile, "utf8"));
        await hs?.stop();
    });

    test("the student logs in like Element", async () => {
        const res = await mx("login", hs.baseUrl, BEN.localpart, BEN.password);
        assert.equal(res.userId, BEN.userId);
        state.loggedIn = true;
    });

    test("'New room' is refused with the reason, and the reason arrives as a server notice", async (t) => {
        if (!requires(t, "loggedIn")) return;
        const refused = await mx("tryCreateRoom", { name: "Lerngruppe", preset: "private_chat" });
        assert.deepEqual(refused, { httpStatus: 403, errcode: "M_FORBIDDEN", error: NO_ROOMS });
        const notice = await mx("waitForServerNotice", `Der Raum wurde nicht angelegt.\n${NO_ROOMS}`);
        console.log(`notice: ${JSON.stringify(notice)}`);
        assert.equal(notice.sender, "@schulhof:schule.test");
        assert.equal(notice.roomName, "Schulhof-Hinweise");
        assert.equal(notice.rooms, 1);
        assert.equal(notice.notices.length, 1);
        state.noticeRoom = notice.roomId;
    });

    test("a direct chat with a child of another class: refused, explained in the same room", async (t) => {
        if (!requires(t, "noticeRoom")) return;
        const refused = await mx("tryCreateRoom", directChat("@mia.weber:schule.test"));
        assert.deepEqual(refused, { httpStatus: 403, errcode: "M_FORBIDDEN", error: OTHER_CLASS });
        const notice = await mx("waitForServerNotice", `Der Chat wurde nicht gestartet.\n${OTHER_CLASS}`);
        assert.equal(notice.roomId, state.noticeRoom);
        assert.equal(notice.notices.length, 2);
    });

    test("a direct chat with a classmate who never logged in is encrypted", async (t) => {
        if (!requires(t, "loggedIn")) return;
        const chat = await mx("tryCreateRoom", directChat("@zoe.yilmaz:schule.test"));
        assert.ok(chat.roomId, JSON.stringify(chat));
        assert.equal(chat.encrypted, true);
    });

    test("no HTTP errors but the two refusals", async (t) => {
        if (!requires(t, "loggedIn")) return;
        const unexpected = ben.rec.httpErrors.filter((e) => !isExpectedError(e) && !(e.status === 403 && /\/createRoom$/.test(e.url)));
        assert.deepEqual(unexpected, []);
        assert.equal(ben.rec.httpErrors.filter((e) => e.status === 403).length, 2);
        assert.deepEqual(ben.rec.pageErrors, []);
    });
});
