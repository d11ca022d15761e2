// Runs inside the browser page: Element Web's client stack (matrix-js-sdk with the Rust crypto
// in WebAssembly) exposed as `window.mx` for the test to drive through `page.evaluate`.
import * as sdk from "matrix-js-sdk";

/** The one logged-in client of this page (one page = one browser profile = one user). */
let client = null;

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
async function waitFor(what, check, timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await check();
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
}

/** Resolves when the client reports the given sync state (or fails on ERROR). */
function waitForSyncState(wanted, timeoutMs = 30000) {
    return new Promise((resolve, reject) => {
        if (client.getSyncState() === wanted) return resolve(wanted);
        const timer = setTimeout(() => reject(new Error(`sync state ${wanted} not reached`)), timeoutMs);
        client.on(sdk.ClientEvent.Sync, function onSync(state, _prev, data) {
            if (state === wanted) {
                clearTimeout(timer);
                client.off(sdk.ClientEvent.Sync, onSync);
                resolve(state);
            } else if (state === "ERROR") {
                clearTimeout(timer);
                client.off(sdk.ClientEvent.Sync, onSync);
                reject(new Error(`sync failed: ${data?.error?.message ?? "unknown"}`));
            }
        });
    });
}

/** Logs in with m.login.password, sets up Rust crypto and starts syncing, like Element Web. */
async function login(baseUrl, user, password) {
    const tmp = sdk.createClient({ baseUrl });
    const flows = await tmp.loginFlows();
    const res = await tmp.loginRequest({
        type: "m.login.password",
        identifier: { type: "m.id.user", user },
        password,
        initial_device_display_name: "Browser-Test (matrix-js-sdk)",
    });
    client = sdk.createClient({
        baseUrl,
        userId: res.user_id,
        accessToken: res.access_token,
        deviceId: res.device_id,
    });
    await client.initRustCrypto();
    await client.startClient({ initialSyncLimit: 20, lazyLoadMembers: true });
    await waitForSyncState("PREPARED");
    return {
        userId: res.user_id,
        deviceId: res.device_id,
        flows: flows.flows.map((f) => f.type),
        cryptoVersion: client.getCrypto()?.getVersion(),
    };
}

/** Creates a private room that is encrypted from the start (m.room.encryption in initial_state). */
async function createEncryptedRoom(name) {
    const { room_id: roomId } = await client.createRoom({
        name,
        preset: sdk.Preset.PrivateChat,
        visibility: sdk.Visibility.Private,
        initial_state: [
            {
                type: "m.room.encryption",
                state_key: "",
                content: { algorithm: "m.megolm.v1.aes-sha2" },
            },
        ],
    });
    await waitFor("own room in sync", () => client.getRoom(roomId)?.getMyMembership() === "join");
    return roomId;
}

/**
 * Calls createRoom with `options` as Element does; a refusal comes back as what Element gets:
 * `{ httpStatus, errcode, error }`. A new room is returned once it is in sync, with whether it
 * is encrypted (`m.room.encryption` in its state, whoever put it there).
 */
async function tryCreateRoom(options) {
    let roomId;
    try {
        ({ room_id: roomId } = await client.createRoom(options));
    } catch (err) {
        return { httpStatus: err.httpStatus, errcode: err.errcode, error: err.data?.error ?? err.message };
    }
    const room = await waitFor("new room in sync", () => {
        const r = client.getRoom(roomId);
        return r?.getMyMembership() === "join" ? r : null;
    });
    return { roomId, encrypted: room.hasEncryptionStateEvent() };
}

/**
 * Waits until this user has a notice with `body` in the room tagged `m.server_notice` (the room
 * Element lists under "Systemwarnungen" / "System Alerts"); returns that room as the client
 * sees it and all notices in it.
 */
async function waitForServerNotice(body) {
    let seen = [];
    try {
        return await waitFor(`server notice "${body}"`, () => {
            const rooms = client.getRooms().filter((r) => r.tags?.["m.server_notice"] && r.getMyMembership() === "join");
            for (const room of rooms) {
                const notices = room
                    .getLiveTimeline()
                    .getEvents()
                    .filter((e) => e.getType() === "m.room.message" && e.getContent().msgtype === "m.server_notice");
                seen = notices.map((e) => e.getContent().body);
                const notice = notices.find((e) => e.getContent().body === body);
                if (notice) {
                    return { roomId: room.roomId, roomName: room.name, rooms: rooms.length, sender: notice.getSender(), notices: seen };
                }
            }
            return null;
        });
    } catch (err) {
        throw new Error(`${err.message}; notices seen: ${JSON.stringify(seen)}`);
    }
}

/** Invites a user into a room (Element's invite dialog calls the same endpoint). */
async function invite(roomId, userId) {
    await client.invite(roomId, userId);
}

/** Waits until this user sees an invite to the room; returns who invited and the room name. */
async function waitForInvite(roomId) {
    const room = await waitFor("invite", () => {
        const r = client.getRoom(roomId);
        return r?.getMyMembership() === "invite" ? r : null;
    });
    const me = room.getMember(client.getUserId());
    return { inviter: me?.events.member?.getSender() ?? null, name: room.name };
}

/** Joins a room and waits until the join came back through /sync. */
async function join(roomId) {
    await client.joinRoom(roomId);
    const room = await waitFor("joined room in sync", () => {
        const r = client.getRoom(roomId);
        return r?.getMyMembership() === "join" ? r : null;
    });
    return { encrypted: room.hasEncryptionStateEvent() };
}

/** Waits until another user's membership in the room is `membership` as seen by this client. */
async function waitForMembership(roomId, userId, membership) {
    await waitFor(`${userId} ${membership}`, () => client.getRoom(roomId)?.getMember(userId)?.membership === membership);
}

/** Whether this client sees the room as encrypted. */
async function isRoomEncrypted(roomId) {
    return client.getCrypto().isEncryptionEnabledInRoom(roomId);
}

/** Sends a text message (encrypted by the SDK when the room is encrypted); returns the event ID. */
async function send(roomId, body) {
    const { event_id: eventId } = await client.sendTextMessage(roomId, body);
    return eventId;
}

/** Describes one timeline event after trying to decrypt it. */
async function describe(event) {
    if (event.isEncrypted()) await client.decryptEventIfNeeded(event);
    return {
        eventId: event.getId(),
        sender: event.getSender(),
        senderName: event.sender?.name ?? null,
        wireType: event.getWireType(),
        type: event.getType(),
        encrypted: event.isEncrypted(),
        body: event.getContent()?.body ?? null,
        decryptionFailure: event.isDecryptionFailure() ? String(event.decryptionFailureReason) : null,
    };
}

/** Waits until a message with `body` from `sender` shows up decrypted in the room's timeline. */
async function waitForMessage(roomId, sender, body, timeoutMs = 30000) {
    let seen = [];
    try {
        return await waitFor(
            `message "${body}"`,
            async () => {
                const room = client.getRoom(roomId);
                if (!room) return null;
                const events = room.getLiveTimeline().getEvents().filter((e) => e.getSender() === sender);
                seen = await Promise.all(events.map(describe));
                return seen.find((e) => e.body === body && e.type === "m.room.message") ?? null;
            },
            timeoutMs,
        );
    } catch (err) {
        throw new Error(`${err.message}; events from ${sender}: ${JSON.stringify(seen)}`);
    }
}

/** Sends a read receipt and moves the read marker, as Element does when a message was seen. */
async function markRead(roomId, eventId) {
    const event = client.getRoom(roomId).findEventById(eventId);
    await client.sendReadReceipt(event);
    await client.setRoomReadMarkers(roomId, eventId, event);
}

/** Waits until this client sees that `userId` has read the event. */
async function waitForReadReceipt(roomId, userId, eventId) {
    await waitFor(`read receipt of ${userId}`, () => client.getRoom(roomId)?.hasUserReadEvent(userId, eventId));
}

/**
 * Element's "set up encryption": new cross-signing keys, uploaded with user-interactive auth
 * (first without auth to learn the session, then m.login.password), then the own device signed.
 */
async function bootstrapCrossSigning(password) {
    const crypto = client.getCrypto();
    await crypto.bootstrapCrossSigning({
        setupNewCrossSigning: true,
        authUploadDeviceSigningKeys: async (makeRequest) => {
            try {
                await makeRequest(null);
            } catch (err) {
                if (err.httpStatus !== 401 || !err.data?.session) throw err;
                await makeRequest({
                    type: "m.login.password",
                    identifier: { type: "m.id.user", user: client.getUserId() },
                    password,
                    session: err.data.session,
                });
            }
        },
    });
    const status = await waitFor("own device cross-signed", async () => {
        const device = await crypto.getDeviceVerificationStatus(client.getUserId(), client.getDeviceId());
        return device?.crossSigningVerified ? device : null;
    });
    return { ready: await crypto.isCrossSigningReady(), crossSigningVerified: status.crossSigningVerified };
}

/** Whether this client can download cross-signing keys of another user. */
async function hasCrossSigningKeys(userId) {
    return client.getCrypto().userHasCrossSigningKeys(userId, true);
}

/**
 * Creates a server-side key backup (room_keys) and waits until the room keys are in it; tells
 * when the server does not offer key backup at all.
 */
async function setUpKeyBackup() {
    const crypto = client.getCrypto();
    try {
        await crypto.resetKeyBackup();
    } catch (err) {
        if (err.errcode !== "M_UNRECOGNIZED") throw err;
        return { offered: false, status: err.httpStatus, errcode: err.errcode };
    }
    const version = await waitFor("active backup", () => crypto.getActiveSessionBackupVersion());
    const info = await waitFor("keys in backup", async () => {
        const backup = (await crypto.checkKeyBackupAndEnable())?.backupInfo;
        return backup?.count > 0 ? backup : null;
    });
    return { offered: true, version, count: info.count, algorithm: info.algorithm };
}

/** Waits until this client knows `deviceId` of `userId` (device list tracking via /sync). */
async function waitForDevice(userId, deviceId) {
    await waitFor(`device ${deviceId} of ${userId}`, async () => {
        const devices = await client.getCrypto().getUserDeviceInfo([userId], true);
        return devices.get(userId)?.has(deviceId);
    });
}

/**
 * Scheduled sending (MSC4140) through the SDK's own calls, as a client offering "send later"
 * makes them: `sendMessage(roomId, delayMs, body)`, `sendTopic(roomId, delayMs, topic)`,
 * `list(status?)`, `cancel|restart|send(delayId)` (the action in the path) and
 * `legacyCancel(delayId)` (the deprecated call with the action in the body). A refusal comes
 * back as `{ httpStatus, errcode, error }`.
 */
async function delayed(op, ...args) {
    const [first, delay, text] = args;
    const calls = {
        sendMessage: () => client._unstable_sendDelayedEvent(first, { delay }, null, "m.room.message", { msgtype: "m.text", body: text }),
        sendTopic: () => client._unstable_sendDelayedStateEvent(first, { delay }, "m.room.topic", { topic: text }, ""),
        list: () => client._unstable_getDelayedEvents(first),
        cancel: () => client._unstable_cancelScheduledDelayedEvent(first),
        restart: () => client._unstable_restartScheduledDelayedEvent(first),
        send: () => client._unstable_sendScheduledDelayedEvent(first),
        legacyCancel: () => client._unstable_updateDelayedEvent(first, sdk.UpdateDelayedEventAction.Cancel),
    };
    try {
        return await calls[op]();
    } catch (err) {
        return { httpStatus: err.httpStatus, errcode: err.errcode, error: err.data?.error ?? err.message };
    }
}

/** Waits until the room's topic (as this client sees it) is `topic`. */
async function waitForTopic(roomId, topic) {
    await waitFor(`topic "${topic}"`, () => client.getRoom(roomId)?.currentState.getStateEvents("m.room.topic", "")?.getContent().topic === topic);
}

/**
 * Waits until the joined space named `name` shows, as Element's space panel builds it from
 * `m.space.child` events, the joined rooms and spaces `expected` lists (`{name: [children…]}`
 * for spaces, room names as strings); returns the tree of joined rooms below it.
 */
async function waitForSpaceTree(name, expected) {
    const tree = (room, depth) => {
        const children = room.currentState
            .getStateEvents("m.space.child")
            .filter((e) => Array.isArray(e.getContent().via) && e.getContent().via.length > 0)
            .map((e) => client.getRoom(e.getStateKey()))
            .filter((child) => child?.getMyMembership() === "join")
            .map((child) => (child.isSpaceRoom() && depth < 4 ? { [child.name]: tree(child, depth + 1) } : child.name));
        return children.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    };
    let seen = null;
    try {
        return await waitFor(`space "${name}"`, () => {
            const space = client.getRooms().find((r) => r.name === name && r.isSpaceRoom() && r.getMyMembership() === "join");
            if (!space) return null;
            seen = tree(space, 0);
            return JSON.stringify(seen) === JSON.stringify(expected) ? seen : null;
        }, 60000);
    } catch (err) {
        throw new Error(`${err.message}; seen: ${JSON.stringify(seen)}; rooms: ${JSON.stringify(client.getRooms().map((r) => r.name))}`);
    }
}

/** Stops syncing (so no long-poll is cut off when the page closes). */
async function stop() {
    client?.stopClient();
}

window.mx = {
    login,
    createEncryptedRoom,
    tryCreateRoom,
    waitForServerNotice,
    invite,
    waitForInvite,
    join,
    waitForMembership,
    isRoomEncrypted,
    send,
    waitForMessage,
    markRead,
    waitForReadReceipt,
    bootstrapCrossSigning,
    hasCrossSigningKeys,
    setUpKeyBackup,
    waitForDevice,
    delayed,
    waitForTopic,
    waitForSpaceTree,
    stop,
};
window.mxReady = true;
