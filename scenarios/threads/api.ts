// The thread and area calls of the binding as the threads and areas suites
// use them (the plan of issue 8: scenarios/native/index.ts), typed here so
// that the suites say exactly what they rely on.  `tx` is the addon itself.
import { nx, type Bytes, type InfoResult, type NextInfoResult, type Timeout } from '../native/index.js';
import type { ThreadOp, ThreadReport } from './model.js';

export interface ThreadInfo {
  thread: number;
  team: number;
  name: string;
  state: number;
}

export interface ReceiveResult {
  /** The code, or an error status. */
  status: number;
  sender: number;
  data: Buffer;
}

export interface WaitResult {
  status: number;
  code: number;
}

export interface AreaInfo {
  area: number;
  name: string;
  size: number;
  lock: number;
  protection: number;
  team: number;
  address: bigint;
}

export interface RawClone {
  rc: number;
  errno: number;
  ret: number;
  area: number;
  fd: number;
  size: number;
}

export interface MmapResult {
  /** 0, or errno of the mmap. */
  errno: number;
  /** mprotect's errno (0 when it succeeded), when mprotectTo was given. */
  mprotectErrno?: number;
}

export interface ThreadsAreasApi {
  spawnThread(name: string | null, program: ThreadOp[]): number;
  resumeThread(tid: number): number;
  waitForThread(tid: number): WaitResult;
  waitForThreadEtc(tid: number, flags: number, timeout: Timeout): WaitResult;
  waitForThreadEtcAsync(tid: number, flags: number, timeout: Timeout): Promise<WaitResult>;
  sendData(tid: number, code: number, data: Bytes): number;
  sendDataEtc(tid: number, code: number, data: Bytes, flags: number, timeout: Timeout): number;
  sendDataEtcAsync(tid: number, code: number, data: Bytes, flags: number, timeout: Timeout): Promise<number>;
  receiveData(bufSize: number): ReceiveResult;
  receiveDataEtc(bufSize: number, flags: number, timeout: Timeout): ReceiveResult;
  hasData(tid: number): boolean;
  renameThread(tid: number, name: string): number;
  findThread(name: string | null): number;
  getThreadInfo(tid: number): InfoResult<ThreadInfo>;
  threadReport(tid: number): ThreadReport | null;

  createArea(name: string | null, size: number, lock: number, protection: number): number;
  cloneArea(name: string | null, source: number, protection: number): number;
  deleteArea(id: number): number;
  findArea(name: string): number;
  resizeArea(id: number, size: number): number;
  setAreaProtection(id: number, protection: number): number;
  transferArea(id: number, team: number): number;
  getAreaInfo(id: number): InfoResult<AreaInfo>;
  getNextAreaInfo(team: number, cookie: number): NextInfoResult<AreaInfo>;
  areaRead(id: number, offset: number, length: number): { status: number; data: Buffer };
  areaWrite(id: number, offset: number, data: Bytes): number;
  /** 0 or -errno. */
  areaMprotect(id: number, prot: number): number;
  rawAreaClone(source: number, name: string | null, protection: number): RawClone;
  /** mmap(fd, size, prot, MAP_SHARED or MAP_PRIVATE), then mprotect(mprotectTo) when given; unmapped before it returns. */
  mmapFd(fd: number, size: number, prot: number, shared: boolean, mprotectTo?: number): MmapResult;
  closeFd(fd: number): number;
  /** /dev/nexus_area's descriptor, or -errno. */
  areaFd(): number;
}

export const tx = nx as unknown as ThreadsAreasApi;
