// What a kernel report looks like on the console: the line that starts each
// kind (its trigger), the lines that announce one before its trigger (begin
// markers), how the kinds that have one end, and the lines that are never a
// report.  lab/console.ts walks the console with these; this file is only
// the patterns, so a new kind is one entry here and a fixture.
//
// The debug kernels (images/debug/debug.config) add these reports to the
// plain ones (BUG, WARNING, Oops, panic, lockups, hung tasks, RCU stalls):
//   kasan         "BUG: KASAN: slab-use-after-free in f+0x1/0x2" (6.12;
//                 6.1: "BUG: KASAN: use-after-free in ...") between two
//                 "=====" lines; "KASAN: null-ptr-deref in range [...]"
//                 inside a general protection fault
//   kfence        "BUG: KFENCE: out-of-bounds read in f+0x1/0x2" between two
//                 "=====" lines
//   ubsan         "UBSAN: shift-out-of-bounds in file.c:1:2" after a "====="
//                 line, ending with "---[ end trace ]---" (6.12) or a second
//                 "=====" line (6.1)
//   lockdep       "WARNING: possible circular locking dependency detected",
//                 "WARNING: inconsistent lock state" and the validator's other
//                 reports after a "=====" line, ending with their stack
//                 backtrace; DEBUG_LOCKS_WARN_ON(...) before the WARNING it
//                 comes with; "BUG: MAX_LOCKDEP_KEYS too low!" (the validator
//                 turned itself off)
//   atomic-sleep  "BUG: sleeping function called from invalid context at
//                 f.c:1" (DEBUG_ATOMIC_SLEEP) and "BUG: scheduling while
//                 atomic: ...", which follows it when the code did sleep
//   debugobjects  "ODEBUG: free active (active state 0) object: ... object
//                 type: timer_list hint: f+0x0/0x1" (6.1 has no "object: ..."
//                 before "object type:"), the message of the WARNING that
//                 follows it
//   kmemleak      "kmemleak: 1 new suspected memory leaks (see
//                 /sys/kernel/debug/kmemleak)" after a scan, and with
//                 kmemleak.verbose=1 the reports themselves, every line
//                 starting "kmemleak: "
// Boot chatter of the same options is not a report: "kasan:
// KernelAddressSanitizer initialized", "kfence: initialized - using ...",
// "kmemleak: Kernel memory leak detector initialized", lockdep's "Lock
// dependency validator: Copyright ..." banner and its "... MAX_LOCKDEP_KEYS:
// 8192" table, "ODEBUG: selftest passed".

export type SplatKind =
  | 'panic'
  | 'bug'
  | 'oops'
  | 'gpf'
  | 'warning'
  | 'kasan'
  | 'kfence'
  | 'ubsan'
  | 'lockdep'
  | 'atomic-sleep'
  | 'debugobjects'
  | 'kmemleak'
  | 'lockup'
  | 'hung-task'
  | 'rcu-stall'
  | 'call-trace';

/** The titles of lockdep's reports after "WARNING: " (kernel/locking/lockdep.c). */
const LOCKDEP_WARNINGS = [
  'possible circular locking dependency detected',
  'possible recursive locking detected',
  'inconsistent lock state',
  'possible irq lock inversion dependency detected',
  '\\S+-safe -> \\S+-unsafe lock order detected',
  'bad unlock balance detected!',
  'bad contention detected!',
  'held lock freed!',
  'lock held when returning to user space!',
  'suspicious RCU usage',
  'Nested lock was not taken',
  'chain_key collision',
  '\\S+/\\d+ still has locks held!',
];

const LOCKDEP = new RegExp(
  [
    `\\bWARNING: (?:${LOCKDEP_WARNINGS.join('|')})`,
    '\\[ BUG: Invalid wait context \\]',
    '\\bINFO: trying to register non-static key\\.',
    '\\bDEBUG_LOCKS_WARN_ON\\(',
    '\\bBUG: MAX_[A-Z_]+ too low!',
    '\\bBUG: looking up invalid subclass',
  ].join('|'),
);

/**
 * kmemleak's own warnings about a caller misusing its API (freeing an object
 * it never saw, ...): each comes with a stack, a warning about the caller.
 */
const KMEMLEAK_API = /\bkmemleak: (?:.*\bunknown object\b|Found object by alias|Scan area larger than object|Cannot insert )/;

// Order matters: the first match names the kind ("BUG: KASAN: ..." is kasan,
// not bug; "WARNING: inconsistent lock state" is lockdep, not warning).
export const TRIGGERS: readonly { kind: SplatKind; re: RegExp }[] = [
  { kind: 'panic', re: /Kernel panic - not syncing/ },
  { kind: 'kasan', re: /\bBUG: KASAN: |\bKASAN: .* in range \[/ },
  { kind: 'kfence', re: /\bBUG: KFENCE: / },
  { kind: 'ubsan', re: /\bUBSAN: / },
  { kind: 'lockdep', re: LOCKDEP },
  { kind: 'atomic-sleep', re: /\bBUG: (?:sleeping function called from invalid context|scheduling while atomic|scheduling in a non-blocking section)/ },
  { kind: 'debugobjects', re: /\bODEBUG: (?:.*\(active state \d+\)|object .* on stack|selftest (?!passed))/ },
  { kind: 'kmemleak', re: /\bkmemleak: (?:\d+ new suspected memory leaks?\b|unreferenced object 0x)/ },
  { kind: 'warning', re: KMEMLEAK_API },
  { kind: 'lockup', re: /soft lockup|hard LOCKUP/ },
  { kind: 'hung-task', re: /blocked for more than \d+ seconds/ },
  { kind: 'rcu-stall', re: /rcu.*detected (expedited )?stall|RCU stall/i },
  { kind: 'bug', re: /kernel BUG at / },
  { kind: 'gpf', re: /general protection fault/ },
  { kind: 'oops', re: /\bOops\b/ },
  { kind: 'bug', re: /\bBUG: / },
  { kind: 'warning', re: /\bWARNING: / },
  { kind: 'call-trace', re: /Call Trace:/ },
];

/**
 * Lines that are never a splat whatever they contain: what an out-of-tree,
 * unsigned module prints on every load, and the kernel's report of a user
 * process's own fault ("traps: prog[pid] general protection fault ip:...
 * in libc.so.6"): the process gets its signal, the kernel is fine; whether
 * that process crashing is a failure is for its scenario to say.
 */
export const EXPECTED: readonly RegExp[] = [/loading out-of-tree module taints kernel/, /module verification failed/, /^traps: \S+\[\d+\] /];

/**
 * A line printed just before a report's trigger line: the "=====" rule of
 * KASAN, KFENCE, UBSAN and lockdep, the "cut here" line of a WARN or BUG.
 * The report's text starts there.
 */
export const BEGIN_MARK = /^(?:={20,}|-+\[ cut here \]-+)$/;

/** A WARN's message lines sit between its "cut here" and its WARNING line: at most this many are kept waiting for it. */
export const MAX_PRELUDE = 4;

/**
 * The kinds whose report ends with a second "=====" rule when it began with
 * one: they stay open until it, whatever stacks they print on the way
 * (KASAN's "Allocated by task" and "Freed by task" come after the trace).
 */
export const RULED: ReadonlySet<SplatKind> = new Set<SplatKind>(['kasan', 'kfence', 'ubsan']);
export const RULE = /^={20,}$/;

/**
 * The kinds printed without a stack, one line or a block of lines that all
 * start the same way: the splat goes on while lines match, and ends at the
 * first that does not.
 */
export const CONTINUED: Partial<Record<SplatKind, RegExp>> = { kmemleak: /^kmemleak: / };

/**
 * The kinds that are evidence for another judge rather than a verdict of
 * their own.  kmemleak's lines say that a scan found unreferenced objects,
 * anywhere in the kernel; the guest runner scans after each suite round
 * itself and the lab blames the tree only for the objects allocated in its
 * modules (lab/leaks.ts), so one of these lines alone is not a kernel splat.
 */
export const EVIDENCE_ONLY: ReadonlySet<SplatKind> = new Set<SplatKind>(['kmemleak']);

/** Does a splat of this kind make the job's verdict kernel-splat? */
export function decidesVerdict(s: { kind: SplatKind }): boolean {
  return !EVIDENCE_ONLY.has(s.kind);
}
