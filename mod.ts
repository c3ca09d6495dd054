/**
 * jailkit-deno library API: build and inspect chroot jails from TypeScript with the same
 * engine the command-line tools use.
 *
 * ```ts
 * import { applyPlan, checkJailSafety, CopyPlanner } from "./mod.ts";
 *
 * checkJailSafety("/srv/jail"); // throws a JailkitError naming the unsafe component
 * const planner = new CopyPlanner("/srv/jail");
 * planner.copyPaths(["/bin/sh"], {
 *   force: false,
 *   hardlink: false,
 *   keepOwner: false,
 *   keepSetid: false,
 *   glob: false,
 *   resolveLibs: true,
 * });
 * planner.finishLibraryCache();
 * applyPlan(planner.plan.build(), {
 *   mode: "dry-run",
 *   verbose: false,
 *   print: (_stream, line) => console.log(line),
 * });
 * ```
 *
 * Deciding code (planners, parsers, resolvers) never writes; `applyPlan` carries a plan out (or
 * prints it). The few writers that bypass it (jk_jailuser's home move, jk_socketd's sockets,
 * the daemons' pid files) are listed with their reasons in lib/engine/apply.ts.
 *
 * The main entry points have examples: `expandSections` and `planInit` (jk_init's profiles),
 * `CopyPlanner` (jk_cp), `resolveDependencies` (the ELF resolver), `parseIni`, `decideLsh` (jk_lsh)
 * and `walkJail` (jk_check). How the pieces fit together: docs/design.md.
 * @module
 */

export { type ErrorKind, JailkitError } from "./lib/core/errors.ts";

// Plans and the executor
export { type Attrs, type Message, type Op, type Plan, PlanBuilder } from "./lib/core/plan.ts";
export {
  type ApplyOptions,
  applyPlan,
  type ApplyResult,
  describeOp,
  type OpResult,
  type OpStatus,
  resultToJson,
} from "./lib/engine/apply.ts";

// Jails: safety rules, in-jail path resolution, copying
export {
  checkJailSafety,
  type JailNode,
  JailView,
  type NodeKind,
  normalizeJail,
} from "./lib/engine/jailpath.ts";
export { type CopyOptions, CopyPlanner, type MissingSource } from "./lib/engine/copy.ts";
export { expandGlob, type GlobOptions } from "./lib/engine/glob.ts";

// jk_init profiles
export { type InitOptions, type InitResult, planInit, socketdBlock } from "./lib/admin/init.ts";
export {
  type ExpandedProfile,
  expandSections,
  listSections,
  type ResolvedSection,
} from "./lib/config/profile.ts";

// jk_update
export {
  type Finding as UpdateFinding,
  planUpdate,
  type ScanOptions,
  type UpdateOptions,
  type UpdatePlan,
} from "./lib/admin/update.ts";

// jk_check and jk_list
export {
  type CheckFs,
  checkJail,
  type CheckSettings,
  type EntryInfo,
  entryInfo,
  type Finding as CheckFinding,
  type FindingKind,
  type JailCheckInput,
  type JailedHostUser,
  NO_SETTINGS,
  SETTING_KEYS,
  type SettingName,
  type Severity,
  systemCheckFs,
  walkJail,
  type WalkOptions,
} from "./lib/admin/check.ts";
export {
  filterByJail,
  formatTable,
  type JailedProcess,
  type ProcFs,
  scanProcesses,
  type ScanResult,
  type Skipped,
  type SkipReason,
  systemProcFs,
} from "./lib/admin/list.ts";

// jk_lsh's decision
export {
  decideLsh,
  type ExecPlan,
  type Expander,
  isRefusal,
  type LogEntry,
  type LogPriority,
  type LshDecision,
  type LshExec,
  type LshFs,
  type LshRefusal,
  type LshRequest,
  type LshUser,
} from "./lib/login/lsh.ts";

// jk_socketd configuration
export {
  type Origin,
  parseSocketdConfig,
  type Rates,
  type RawRates,
  type SocketdConfig,
  type SocketSpec,
  validateRates,
} from "./lib/socketd/rules.ts";

// Configuration files
export {
  iniBool,
  type IniDialect,
  type IniEntry,
  type IniFile,
  iniFloat,
  iniInt,
  iniList,
  iniOctal,
  type IniSection,
  iniString,
  parseIni,
  readIni,
  selectUserSection,
} from "./lib/config/ini.ts";
export {
  addGroupMember,
  appendGroupEntry,
  appendPasswdEntry,
  type DbFile,
  type DbLine,
  type DbProblem,
  type GroupEntry,
  type GroupFile,
  jailedHomeFor,
  type JailHome,
  type NewGroupEntry,
  type NewPasswdEntry,
  parseGroup,
  parseJailHome,
  parsePasswd,
  type PasswdEntry,
  type PasswdFile,
  setUserHomeShell,
} from "./lib/config/passwd.ts";

// Dependency discovery without ldd
export {
  type ByteReader,
  type ElfAbi,
  type ElfDependency,
  type ElfInfo,
  parseElf,
  readElf,
} from "./lib/engine/elf.ts";
export {
  DependencyResolver,
  type DependencyResult,
  type MissingDependency,
  resolveDependencies,
  type ResolveError,
  type ResolveOptions,
} from "./lib/engine/deps.ts";
export {
  type LdCache,
  type LdCacheEntry,
  parseLdCache,
  readLdCache,
} from "./lib/engine/ldcache.ts";
