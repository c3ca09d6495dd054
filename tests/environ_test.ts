import assert from "node:assert/strict";
import { decodeBase64, decodeCallerEnv } from "../lib/core/environ.ts";

function btoaBytes(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

Deno.test("decodeBase64 reads what the launcher writes (padded standard base64), as atob would", () => {
  const texts = ["", "a", "ab", "abc", "abcd", "USER=jk\0HOME=/home/jk", "é—→ ok", "\0\0\0"];
  for (let n = 0; n < 64; n++) {
    texts.push(
      String.fromCharCode(...crypto.getRandomValues(new Uint8Array(n)).map((b) => b & 0x7f)),
    );
  }
  for (const text of texts) {
    const encoded = btoaBytes(new TextEncoder().encode(text));
    assert.equal(decodeBase64(encoded), text, JSON.stringify(text));
  }
  // Every byte value, in every position of a group.
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (let shift = 0; shift < 3; shift++) {
    const bytes = all.subarray(shift);
    assert.equal(decodeBase64(btoaBytes(bytes)), new TextDecoder().decode(bytes));
  }
});

Deno.test("decodeBase64 refuses what is not padded standard base64", () => {
  for (const bad of ["a", "abc", "ab=c", "a===", "ab c", "ab-_", "YWJj\n", "YQ", "=YWJ", "YW=j"]) {
    assert.equal(decodeBase64(bad), undefined, JSON.stringify(bad));
  }
  assert.deepEqual(decodeCallerEnv("not base64!"), new Map());
  assert.deepEqual(
    decodeCallerEnv(btoa("A=1\0B=2=3\0=x\0noeq\0A=again")),
    new Map([["A", "1"], ["B", "2=3"]]),
  );
});
