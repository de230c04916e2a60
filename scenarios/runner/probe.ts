// Feature probing: before any suite runs, ask the loaded modules what they
// have - which Nexus devices exist, and which ioctls answer something other
// than ENOTTY - so that a scenario needing what the tree lacks ends as a
// skip that says so, and a suite whose primitive is missing altogether is
// one skipped suite.  The probes pass a pointer to the zero page, which no
// ioctl may read: an implemented one answers EFAULT (or a status), one the
// tree lacks ENOTTY.  The by-value thread ioctls (SPAWN, WAIT_NEWBORN, ...)
// act on their argument, so they are not probed: threads are told by their
// pointer ioctls.
import { closeSync, existsSync, openSync } from 'node:fs';
import * as n from '../native/index.js';
import type { Features, Primitive, ProbeResult } from './events.js';

const ENOTTY = 25;
/** An address no process maps: an implemented ioctl cannot read its request there. */
const ZERO_PAGE = 0x10n;

export const DEVICES = { nexus: '/dev/nexus', area: '/dev/nexus_area', nodeMonitor: '/dev/nexus_node_monitor' } as const;
type Device = keyof typeof DEVICES;

interface Probe {
  device: Device;
  cmd: number;
  primitive: Primitive;
}

const p = (device: Device, primitive: Primitive, cmd: number): Probe => ({ device, cmd, primitive });

/** Every ioctl of NEXUS-ABI.md that can be probed harmlessly, by name. */
export const PROBES: Record<string, Probe> = {
  PORT_CREATE: p('nexus', 'ports', n.NEXUS_PORT_CREATE),
  PORT_CLOSE: p('nexus', 'ports', n.NEXUS_PORT_CLOSE),
  PORT_FIND: p('nexus', 'ports', n.NEXUS_PORT_FIND),
  GET_NEXT_PORT_FOR_TEAM: p('nexus', 'ports', n.NEXUS_GET_NEXT_PORT_FOR_TEAM),
  PORT_DELETE: p('nexus', 'ports', n.NEXUS_PORT_DELETE),
  PORT_READ: p('nexus', 'ports', n.NEXUS_PORT_READ),
  PORT_WRITE: p('nexus', 'ports', n.NEXUS_PORT_WRITE),
  PORT_INFO: p('nexus', 'ports', n.NEXUS_PORT_INFO),
  PORT_MESSAGE_INFO: p('nexus', 'ports', n.NEXUS_PORT_MESSAGE_INFO),
  SET_PORT_OWNER: p('nexus', 'ports', n.NEXUS_SET_PORT_OWNER),
  PORT_WRITE_CAPS: p('nexus', 'vrefs', n.NEXUS_PORT_WRITE_CAPS),
  PORT_READ_CAPS: p('nexus', 'vrefs', n.NEXUS_PORT_READ_CAPS),
  SEM_CREATE: p('nexus', 'sems', n.NEXUS_SEM_CREATE),
  SEM_ACQUIRE: p('nexus', 'sems', n.NEXUS_SEM_ACQUIRE),
  SEM_RELEASE: p('nexus', 'sems', n.NEXUS_SEM_RELEASE),
  SEM_DELETE: p('nexus', 'sems', n.NEXUS_SEM_DELETE),
  SEM_COUNT: p('nexus', 'sems', n.NEXUS_SEM_COUNT),
  SEM_INFO: p('nexus', 'sems', n.NEXUS_SEM_INFO),
  SEM_NEXT_INFO: p('nexus', 'sems', n.NEXUS_SEM_NEXT_INFO),
  THREAD_SET_NAME: p('nexus', 'threads', n.NEXUS_THREAD_SET_NAME),
  THREAD_READ: p('nexus', 'threads', n.NEXUS_THREAD_READ),
  THREAD_WRITE: p('nexus', 'threads', n.NEXUS_THREAD_WRITE),
  THREAD_HAS_DATA: p('nexus', 'threads', n.NEXUS_THREAD_HAS_DATA),
  THREAD_WAITFOR: p('nexus', 'threads', n.NEXUS_THREAD_WAITFOR),
  THREAD_GET_INFO: p('nexus', 'threads', n.NEXUS_THREAD_GET_INFO),
  AREA_CREATE: p('area', 'areas', n.NEXUS_AREA_CREATE),
  AREA_CLONE: p('area', 'areas', n.NEXUS_AREA_CLONE),
  AREA_DELETE: p('area', 'areas', n.NEXUS_AREA_DELETE),
  AREA_FIND: p('area', 'areas', n.NEXUS_AREA_FIND),
  AREA_GET_INFO: p('area', 'areas', n.NEXUS_AREA_GET_INFO),
  AREA_RESIZE: p('area', 'areas', n.NEXUS_AREA_RESIZE),
  AREA_SET_PROTECTION: p('area', 'areas', n.NEXUS_AREA_SET_PROTECTION),
  AREA_TRANSFER: p('area', 'areas', n.NEXUS_AREA_TRANSFER),
  AREA_GET_NEXT: p('area', 'areas', n.NEXUS_AREA_GET_NEXT),
  VREF_CREATE: p('nodeMonitor', 'vrefs', n.NEXUS_VREF_CREATE),
  VREF_ACQUIRE: p('nodeMonitor', 'vrefs', n.NEXUS_VREF_ACQUIRE),
  VREF_RELEASE: p('nodeMonitor', 'vrefs', n.NEXUS_VREF_RELEASE),
  VREF_OPEN: p('nodeMonitor', 'vrefs', n.NEXUS_VREF_OPEN),
  START_WATCHING: p('nodeMonitor', 'node-monitor', n.NEXUS_START_WATCHING),
  STOP_WATCHING: p('nodeMonitor', 'node-monitor', n.NEXUS_STOP_WATCHING),
  STOP_NOTIFYING: p('nodeMonitor', 'node-monitor', n.NEXUS_STOP_NOTIFYING),
};

/** The device each primitive lives on (teams are /dev/nexus itself). */
const PRIMITIVE_DEVICES: Record<Primitive, Device[]> = {
  teams: ['nexus'],
  ports: ['nexus'],
  sems: ['nexus'],
  threads: ['nexus'],
  areas: ['nexus', 'area'],
  vrefs: ['nexus', 'nodeMonitor'],
  'node-monitor': ['nexus', 'nodeMonitor'],
};

export const PRIMITIVES = Object.keys(PRIMITIVE_DEVICES) as Primitive[];

/**
 * What the probes say, per primitive: present when its devices exist and
 * at least one of its ioctls answers; `missing` names what does not.
 */
export function summarize(devices: Record<string, boolean>, ioctls: Record<string, ProbeResult>): Features['primitives'] {
  const out = {} as Features['primitives'];
  for (const prim of PRIMITIVES) {
    const missing: string[] = PRIMITIVE_DEVICES[prim].filter((d) => !devices[DEVICES[d]]).map((d) => DEVICES[d]);
    const mine = Object.entries(PROBES).filter(([, pr]) => pr.primitive === prim).map(([name]) => name);
    for (const name of mine) if (ioctls[name] !== 'present') missing.push(name);
    const present = missing.filter((m) => m.startsWith('/dev/')).length === 0 && (mine.length === 0 || mine.some((name) => ioctls[name] === 'present'));
    out[prim] = { present, missing };
  }
  return out;
}

/** Probe the loaded modules (from this process; each device opened and closed again). */
export function probeFeatures(countersFile: string): Features {
  const devices: Record<string, boolean> = {};
  const fds: Partial<Record<Device, number>> = {};
  for (const [dev, path] of Object.entries(DEVICES) as [Device, string][]) {
    devices[path] = existsSync(path);
    if (!devices[path]) continue;
    try {
      fds[dev] = openSync(path, 'r+');
    } catch {
      devices[path] = false;
    }
  }
  const ioctls: Record<string, ProbeResult> = {};
  try {
    for (const [name, pr] of Object.entries(PROBES)) {
      const fd = fds[pr.device];
      if (fd === undefined) {
        ioctls[name] = 'no-device';
        continue;
      }
      const r = n.nx.rawIoctl(fd, pr.cmd, ZERO_PAGE);
      ioctls[name] = r.rc < 0 && r.errno === ENOTTY ? 'enotty' : 'present';
    }
  } finally {
    for (const fd of Object.values(fds)) closeSync(fd);
  }
  return { devices, ioctls, primitives: summarize(devices, ioctls), counters: existsSync(countersFile) };
}

let probed: Features | undefined;

/** What the runner probed at its start (undefined outside the runner). */
export function features(): Features | undefined {
  return probed;
}

export function setFeatures(f: Features): void {
  probed = f;
}

/**
 * Why a scenario or suite needing `needs` (primitive names or ioctl names)
 * cannot run on this tree, or undefined when it can.
 */
export function lacking(f: Features, needs: readonly string[]): string | undefined {
  const out: string[] = [];
  for (const need of needs) {
    const prim = f.primitives[need as Primitive];
    if (prim) {
      if (!prim.present) out.push(`${need} (missing: ${prim.missing.join(', ')})`);
    } else if (f.ioctls[need] !== undefined && f.ioctls[need] !== 'present') {
      out.push(`${need} (${f.ioctls[need] === 'enotty' ? 'answers ENOTTY' : 'its device is missing'})`);
    }
  }
  return out.length > 0 ? `this tree lacks ${out.join('; ')}` : undefined;
}

/**
 * Whether the tree has a primitive: what the runner probed, or outside the
 * runner (a unit test, a scenario run by hand) `fallback`.
 */
export function treeHas(p: Primitive, fallback: boolean): boolean {
  return probed?.primitives[p].present ?? fallback;
}
