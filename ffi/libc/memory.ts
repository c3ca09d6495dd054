/**
 * Memory advice (jk_socketd): a long-running process gives back the pages of its executable
 * that only its start-up used.
 */
import { checkUint, fail } from "./base.ts";
import { libc } from "./symbols.ts";

const MADV_DONTNEED = 4;
const PAGE_MASK = 0xfffn;

/**
 * madvise(MADV_DONTNEED) over [start, end): the process stops mapping those pages; the next
 * access maps them again from the file. Only for a private file mapping that was never written
 * (no anonymous pages in /proc/self/smaps, not writable): the advice discards written copies,
 * so on any other mapping it would lose data. Both ends must be page-aligned.
 */
export function dropFilePages(start: bigint, end: bigint): void {
  if ((start & PAGE_MASK) !== 0n || (end & PAGE_MASK) !== 0n || end <= start) {
    throw new RangeError(
      `madvise: [${start.toString(16)}, ${end.toString(16)}) is not page-aligned`,
    );
  }
  checkUint("madvise", "length", Number(end - start), Number.MAX_SAFE_INTEGER);
  if (libc().madvise(start, end - start, MADV_DONTNEED) !== 0) fail("madvise");
}
