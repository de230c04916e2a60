// Kernel module dependency closure from modules.dep / modules.builtin, so a
// guest gets exactly the kernel modules it needs (virtio network and disk),
// loaded in dependency order.

/** Module name of a path in modules.dep: basename without .ko[.xz|.zst|.gz], '-' as '_'. */
export function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

export interface DepEntry {
  path: string;
  deps: string[];
}

/** Parse modules.dep ("path: dep dep ...") into entries keyed by module name. */
export function parseModulesDep(text: string): Map<string, DepEntry> {
  const map = new Map<string, DepEntry>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const path = line.slice(0, colon).trim();
    const deps = line.slice(colon + 1).trim().split(/\s+/).filter(Boolean);
    map.set(moduleName(path), { path, deps });
  }
  return map;
}

/** Names of built-in modules from modules.builtin. */
export function parseModulesBuiltin(text: string): Set<string> {
  return new Set(text.split('\n').map((l) => l.trim()).filter(Boolean).map(moduleName));
}

/**
 * Paths of the modules needed to load `wanted` (dependencies first, each
 * once).  Built-in modules need nothing; an unknown module is an error.
 */
export function moduleClosure(wanted: readonly string[], deps: Map<string, DepEntry>, builtin: Set<string>): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const byPath = new Map([...deps.values()].map((e) => [e.path, e]));
  const visit = (entry: DepEntry) => {
    if (seen.has(entry.path)) return;
    seen.add(entry.path);
    for (const d of entry.deps) {
      const dep = byPath.get(d);
      if (!dep) throw new Error(`modules.dep names ${d} as a dependency of ${entry.path} but has no entry for it`);
      visit(dep);
    }
    order.push(entry.path);
  };
  for (const name of wanted) {
    const n = name.replace(/-/g, '_');
    if (builtin.has(n)) continue;
    const entry = deps.get(n);
    if (!entry) throw new Error(`kernel module ${name} is neither built in nor in modules.dep`);
    visit(entry);
  }
  return order;
}
