/**
 * Which account jk_socketd's forwarder becomes: the package's own system user jk_socketd when
 * it exists, else nobody; never an account with uid or gid 0.
 */
import assert from "node:assert/strict";
import { chooseForwarderUser } from "../lib/socketd/forwarder.ts";

const users = (entries: Record<string, { uid: number; gid: number }>) => (name: string) =>
  entries[name];

Deno.test("forwarder user: jk_socketd when the package created it", () => {
  const db = users({ nobody: { uid: 65534, gid: 65534 }, jk_socketd: { uid: 105, gid: 107 } });
  assert.deepEqual(chooseForwarderUser(db, "/etc/passwd"), {
    name: "jk_socketd",
    uid: 105,
    gid: 107,
    groups: [],
  });
});

Deno.test("forwarder user: nobody in a checkout without the system user", () => {
  const db = users({ nobody: { uid: 65534, gid: 65534 } });
  assert.equal(chooseForwarderUser(db, "/etc/passwd").name, "nobody");
});

Deno.test("forwarder user: uid/gid 0 or no account at all is an error naming the file", () => {
  assert.throws(
    () => chooseForwarderUser(users({ jk_socketd: { uid: 0, gid: 0 } }), "/etc/passwd"),
    /\/etc\/passwd: user jk_socketd has uid or gid 0/,
  );
  assert.throws(
    () => chooseForwarderUser(users({}), "/etc/passwd"),
    /\/etc\/passwd: none of the users jk_socketd, nobody/,
  );
});
