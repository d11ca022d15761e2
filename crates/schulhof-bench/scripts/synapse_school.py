"""Helpers of synapse-school-reconcile.sh, talking to Synapse over HTTP (standard library only).

  accounts HS TOKEN SERVER LOCALPARTS   create one account per localpart (admin API, no password)
  progress HS TOKEN                     rooms and joined memberships on the server now
  check HS TOKEN SERVER EXPECTED        compare every planned room with the server's
"""

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def call(hs, token, method, path, body=None):
    """One request; returns (status, JSON body)."""
    req = urllib.request.Request(
        hs + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"authorization": "Bearer " + token, "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def accounts(hs, token, server, localparts_file):
    """Creates the accounts without passwords (no hashing), four requests at a time."""
    with open(localparts_file, encoding="utf-8") as f:
        localparts = [line.strip() for line in f if line.strip()]

    def create(localpart):
        user = urllib.parse.quote(f"@{localpart}:{server}")
        status, body = call(hs, token, "PUT", f"/_synapse/admin/v2/users/{user}", {"admin": False})
        if status not in (200, 201):
            raise SystemExit(f"creating {localpart}: {status} {body}")

    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(create, localparts))
    print(f"{len(localparts)} {time.monotonic() - started:.1f}")


def rooms(hs, token):
    """The server's rooms (admin API), all pages."""
    out, start = [], 0
    while True:
        _, body = call(hs, token, "GET", f"/_synapse/admin/v1/rooms?limit=500&from={start}")
        out += body["rooms"]
        if "next_batch" not in body:
            return out
        start = body["next_batch"]


def progress(hs, token):
    """Prints `rooms joined_memberships`."""
    found = rooms(hs, token)
    print(len(found), sum(r["joined_members"] for r in found))


def check(hs, token, server, expected_file):
    """Every planned room exists under its alias with the planned name, kind, members and power
    levels; the bot is in no other room. Prints one line per failure and a summary."""
    with open(expected_file, encoding="utf-8") as f:
        expected = json.load(f)
    uid = lambda localpart: f"@{localpart}:{server}"
    q = lambda text: urllib.parse.quote(text, safe="")
    failures = []

    def one(room):
        alias = f"#{room['alias']}:{server}"
        status, body = call(hs, token, "GET", f"/_matrix/client/v3/directory/room/{q(alias)}")
        if status != 200:
            return [f"{room['key']}: alias {alias} not found ({status})"]
        room_id = q(body["room_id"])
        wrong = []
        _, members = call(hs, token, "GET", f"/_synapse/admin/v1/rooms/{room_id}/members")
        want = {uid(m) for m in room["members"]}
        have = set(members["members"])
        if want != have:
            wrong.append(f"{room['key']}: {len(have)} members, planned {len(want)} "
                         f"(missing {len(want - have)}, extra {len(have - want)})")
        state = lambda t: call(hs, token, "GET", f"/_matrix/client/v3/rooms/{room_id}/state/{t}")[1]
        if state("m.room.name").get("name") != room["name"]:
            wrong.append(f"{room['key']}: name {state('m.room.name').get('name')!r}")
        if (state("m.room.create").get("type") == "m.space") != room["space"]:
            wrong.append(f"{room['key']}: space {not room['space']}, planned {room['space']}")
        users = state("m.room.power_levels").get("users", {})
        want_levels = {uid(u): level for u, level in room["power_users"].items()}
        if users != want_levels:
            wrong.append(f"{room['key']}: power levels differ in "
                         f"{len(set(users.items()) ^ set(want_levels.items()))} entries")
        return wrong

    with ThreadPoolExecutor(4) as pool:
        for wrong in pool.map(one, expected["rooms"]):
            failures += wrong
    _, joined = call(hs, token, "GET", "/_matrix/client/v3/joined_rooms")
    if len(joined["joined_rooms"]) != len(expected["rooms"]):
        failures.append(f"the bot is in {len(joined['joined_rooms'])} rooms, "
                        f"planned {len(expected['rooms'])}")
    for line in failures[:20]:
        print("FAIL", line)
    members = sum(len(r["members"]) for r in expected["rooms"])
    print(f"check: {len(expected['rooms'])} rooms and spaces, {members} memberships, "
          f"{len(failures)} differences")
    return 1 if failures else 0


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    sys.exit({"accounts": accounts, "progress": progress, "check": check}[command](*args) or 0)
