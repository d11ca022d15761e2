// The school space as a student sees it in Element: Element's client stack (matrix-js-sdk +
// Rust crypto) in headless Chromium, logged in as a student of an imported school whose
// appservice runs in-process. Without anyone inviting him, his client shows the school space
// with his year space inside and his class room inside that, plus his group's room in the
// groups space — and nothing of the other class.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { isExpectedError, launchBrowser, openClientPage, startHomeserver, startPageServer } from "./harness.mjs";

const SCHOOL = {
    csv: [
        "ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung",
        "L-1;Anna;Schmidt;Lehrkraft;Lehrer, Klasse 4a;;ja",
        "S-1;Ben;Müller;Schüler;Klasse 4a, AG Theater;;ja",
        "S-3;Mia;Weber;Schülerin;Klasse 5b;;ja",
    ].join("\n"),
    people: [{ localpart: "ben.mueller", password: "Rad-Fahren-2025?" }],
};
const BEN = SCHOOL.people[0];

let hs;
let web;
let browser;
let ben;

function mx(fn, ...args) {
    return ben.page.evaluate(([f, a]) => window.mx[f](...a), [fn, args]);
}

describe("a student sees the school space in Element", { concurrency: 1 }, () => {
    before(async () => {
        hs = await startHomeserver([], SCHOOL, { schoolAppservice: true });
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

    test("the school space holds his year, his class and his group", async () => {
        await mx("login", hs.baseUrl, BEN.localpart, BEN.password);
        const tree = await mx("waitForSpaceTree", "Unsere Schule", [
            { "Gruppen und AGs": ["AG Theater"] },
            { "Jahrgang 4": ["Klasse 4a"] },
        ]);
        console.log(`space tree: ${JSON.stringify(tree)}`);
        assert.ok(!JSON.stringify(tree).includes("5b"), "nothing of the other class");
    });

    test("no HTTP errors and no page errors", () => {
        assert.deepEqual(ben.rec.httpErrors.filter((e) => !isExpectedError(e)), []);
        assert.deepEqual(ben.rec.pageErrors, []);
    });
});
