/**
 * jailkit-deno library API: build and inspect chroot jails from TypeScript with the same
 * engine the command-line tools use.
 *
 * ```ts
 * import { applyPlan, CopyPlanner, checkJailSafety } from "./mod.ts";
 *
 * checkJailSafety("/srv/jail");
 * const planner = new CopyPlanner("/srv/jail");
 * planner.copyPaths(["/usr/bin/rsync"], {
 *   force: false, hardlink: false, keepOwner: false, keepSetid: false, glob: false, resolveLibs: true,
 * });
 * planner.finishLibraryCache();
 * applyPlan(planner.plan.build(), { mode: "dry-run", verbose: false, print: console.log });
 * ```
 *
 * Deciding code (planners, parsers, resolvers) never writes; `applyPlan` is the only writer.
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
  resultToJson,
} from "./lib/engine/apply.ts";

// Jails: safety rules, in-jail path resolution, copying
export { checkJailSafety, JailView, normalizeJail } from "./lib/engine/jailpath.ts";
export { type CopyOptions, CopyPlanner, type MissingSource } from "./lib/engine/copy.ts";
export { expandGlob } from "./lib/engine/glob.ts";

// jk_init profiles
export { type InitOptions, planInit, socketdBlock } from "./lib/admin/init.ts";
export {
  type ExpandedProfile,
  expandSections,
  listSections,
  type ResolvedSection,
} from "./lib/config/profile.ts";

// jk_update
export { planUpdate, type UpdateOptions, type UpdatePlan } from "./lib/admin/update.ts";

// jk_check and jk_list
export { checkJail, systemCheckFs } from "./lib/admin/check.ts";
export { filterByJail, formatTable, scanProcesses, systemProcFs } from "./lib/admin/list.ts";

// jk_socketd configuration
export { parseSocketdConfig, validateRates } from "./lib/socketd/rules.ts";

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
  type GroupEntry,
  type GroupFile,
  jailedHomeFor,
  parseGroup,
  parseJailHome,
  parsePasswd,
  type PasswdEntry,
  type PasswdFile,
  setUserHomeShell,
} from "./lib/config/passwd.ts";

// Dependency discovery without ldd
export { type ElfInfo, parseElf, readElf } from "./lib/engine/elf.ts";
export {
  DependencyResolver,
  type DependencyResult,
  resolveDependencies,
} from "./lib/engine/deps.ts";
