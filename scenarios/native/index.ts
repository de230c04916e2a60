// The Haiku port, semaphore, thread and area API for scenarios, with vrefs,
// port capabilities and the node monitor: nexus.node (binding/*.c over
// libnexus) typed, plus the ABI's constants (kernel/include/nexus.h) and
// libnexus's (priorities, address specs).
//
// Every call returns libnexus's result: a Haiku status (B_OK or a negative
// error; ids and byte counts are >= 0), never an exception - only wrong
// argument types throw.  When /dev/nexus cannot be opened, calls return
// -errno of the open (-ENOENT = -2 on a host without the module).
// Timeouts are microseconds, a number or a bigint; Infinity or
// B_INFINITE_TIMEOUT means forever.
import { createRequire } from 'node:module';

/** Microseconds; Infinity (number) or B_INFINITE_TIMEOUT (bigint) = forever. */
export type Timeout = number | bigint;
/** Message bytes to write: a Buffer or any typed array, a DataView, an ArrayBuffer. */
export type Bytes = ArrayBufferView | ArrayBuffer;

export interface ReadResult {
  /** Bytes copied (>= 0) or an error status. */
  status: number;
  code: number;
  /** The bytes copied (empty on error). */
  data: Buffer;
}

export interface PortInfo {
  port: number;
  team: number;
  name: string;
  capacity: number;
  queueCount: number;
  totalCount: number;
}

export interface PortMessageInfo {
  size: number;
  sender: number;
  senderGroup: number;
  senderTeam: number;
}

export interface SemInfo {
  sem: number;
  team: number;
  name: string;
  count: number;
  latestHolder: number;
}

/** info is there when status is B_OK. */
export interface InfoResult<T> {
  status: number;
  info?: T;
}

/** cookie: the id returned (B_OK), else the cookie passed in. */
export interface NextInfoResult<T> extends InfoResult<T> {
  cookie: number;
}

export interface ThreadInfo {
  thread: number;
  team: number;
  name: string;
  /** B_THREAD_*: SUSPENDED (a newborn waiting for resume), RECEIVING, WAITING, else RUNNING. */
  state: number;
}

/** wait_for_thread: status, and the thread's return code (B_ERROR when it set none). */
export interface WaitResult {
  status: number;
  code: number;
}

export interface ReceiveResult {
  /** receive_data's return: the message's code, or an error status (sender is then 0). */
  status: number;
  /** The sending thread's tid; 0 when nothing was received. */
  sender: number;
  /**
   * The whole bufSize-byte buffer, zeroed first: the message's bytes, then
   * zeros (receive_data does not say how many bytes it copied).  Empty when
   * nothing was received.
   */
  data: Buffer;
}

/**
 * One step of the native program a thread made by spawnThread runs.  An op
 * with flags or timeout calls the _etc variant (receive_data_etc,
 * send_data_etc, wait_for_thread_etc; flags default 0, timeout 0).
 */
export type ThreadOp =
  | { op: 'receive'; bufSize: number; flags?: number; timeout?: Timeout }
  | { op: 'send'; target: number; code: number; hex: string; flags?: number; timeout?: Timeout }
  | { op: 'wait'; target: number; flags?: number; timeout?: Timeout }
  | { op: 'sleep'; us: number }
  /** Return code from the thread function (what wait_for_thread reports). */
  | { op: 'return'; code: number }
  /** exit_thread(code). */
  | { op: 'exit'; code: number }
  /** pthread_exit: the thread ends without a code (waiters get B_ERROR). */
  | { op: 'pthread_exit' };

/** What one op did; times are CLOCK_MONOTONIC µs (systemTime's clock). */
export interface OpResult {
  op: ThreadOp['op'];
  /** receive: the code or an error status; send, wait: the status; others B_OK. */
  status: number;
  /** wait: the thread's return code; return, exit: the code. */
  code?: number;
  /** receive: the sender's tid (0: nothing received). */
  sender?: number;
  /** receive: the buffer as hex (see ReceiveResult.data); '' when nothing was received. */
  hex?: string;
  startUs: bigint;
  endUs: bigint;
}

export interface ThreadReport {
  /** When the thread's body began, right after it was resumed; null: not yet. */
  startedUs: bigint | null;
  /** The thread is past its last op (it returned, exited or is ending). */
  done: boolean;
  /** The ops done so far, in order (an op still blocked is not there yet). */
  results: OpResult[];
}

export interface AreaInfo {
  area: number;
  name: string;
  size: number;
  lock: number;
  protection: number;
  team: number;
  /** Where this process maps the area (created or cloned here); 0n if it does not. */
  address: bigint;
}

export interface RawAreaCloneResult {
  /** The ioctl's return value (the status as well), errno when it is -1. */
  rc: number;
  errno: number;
  ret: number;
  area: number;
  /** A new descriptor (O_CLOEXEC) of the clone, to try with mmapFd; close it with closeFd. */
  fd: number;
  size: number;
}

export interface RawIoctlResult {
  /** 0, or errno of the failed ioctl (EPERM for a descriptor of another process). */
  errno: number;
  ret: number;
  id: number;
}

export interface VrefCreateResult {
  /** 0 or -errno (-EBADF: bad fd; -ENOSPC: past a limit; -ENOENT: no /dev/nexus_node_monitor). */
  status: number;
  /** The vref's id (> 0); 0 on error. */
  id: number;
  /** The creator's slot (never 0n); 0n on error. */
  key: bigint;
}

/** One vref a message carries: offset (default 0) is passed through; kind defaults to NEXUS_PORT_CAP_VREF. */
export interface PortCapIn {
  vrefId: number;
  offset?: number;
  kind?: number;
}

export interface PortCapOut {
  kind: number;
  vrefId: number;
  offset: number;
  /** The reader's new slot in the vref. */
  key: bigint;
}

export interface ReadCapsResult {
  /** B_OK or an error status (B_BUFFER_OVERFLOW: too little room, the message stays queued). */
  status: number;
  /** The message's code (B_OK), else 0. */
  code: number;
  /** The message's bytes (B_OK), else empty. */
  data: Buffer;
  /** B_OK: the message's size; B_BUFFER_OVERFLOW: the size needed; else 0. */
  size: number;
  /** B_OK: the caps the message carried; B_BUFFER_OVERFLOW: the room needed; else 0. */
  capsCount: number;
  /** The caps read (B_OK), each with the reader's new key. */
  caps: PortCapOut[];
}

export interface Nexus {
  createPort(capacity: number, name: string | null): number;
  closePort(id: number): number;
  deletePort(id: number): number;
  findPort(name: string): number;
  writePort(id: number, code: number, data: Bytes): number;
  writePortEtc(id: number, code: number, data: Bytes, flags: number, timeout: Timeout): number;
  readPort(id: number, bufSize: number): ReadResult;
  readPortEtc(id: number, bufSize: number, flags: number, timeout: Timeout): ReadResult;
  /** Size of the next message (waits for one), or a status. */
  portBufferSize(id: number): number;
  portBufferSizeEtc(id: number, flags: number, timeout: Timeout): number;
  /** Messages queued, or a status. */
  portCount(id: number): number;
  getPortInfo(id: number): InfoResult<PortInfo>;
  /** team 0 = the caller's team; start with cookie 0. */
  getNextPortInfo(team: number, cookie: number): NextInfoResult<PortInfo>;
  setPortOwner(id: number, team: number): number;
  getPortMessageInfoEtc(id: number, flags: number, timeout: Timeout): InfoResult<PortMessageInfo>;

  createSem(count: number, name: string | null): number;
  deleteSem(id: number): number;
  acquireSem(id: number): number;
  acquireSemEtc(id: number, count: number, flags: number, timeout: Timeout): number;
  releaseSem(id: number): number;
  releaseSemEtc(id: number, count: number, flags: number): number;
  /** count is meaningful when status is B_OK (negative: units still requested by waiters). */
  getSemCount(id: number): { status: number; count: number };
  getSemInfo(id: number): InfoResult<SemInfo>;
  /** team 0 = every team; start with cookie 0. */
  getNextSemInfo(team: number, cookie: number): NextInfoResult<SemInfo>;

  // The same calls on the libuv thread pool (this process, so this team):
  // the event loop keeps running while they block.
  writePortEtcAsync(id: number, code: number, data: Bytes, flags: number, timeout: Timeout): Promise<number>;
  readPortEtcAsync(id: number, bufSize: number, flags: number, timeout: Timeout): Promise<ReadResult>;
  portBufferSizeEtcAsync(id: number, flags: number, timeout: Timeout): Promise<number>;
  getPortMessageInfoEtcAsync(id: number, flags: number, timeout: Timeout): Promise<InfoResult<PortMessageInfo>>;
  acquireSemEtcAsync(id: number, count: number, flags: number, timeout: Timeout): Promise<number>;

  /**
   * A thread of this process (this team) that runs program, started
   * suspended: its tid, or a status.  Its record (threadReport) says what it
   * did; nothing runs before resumeThread (or a waitForThread, which resumes
   * it first).
   */
  spawnThread(name: string | null, program: ThreadOp[]): number;
  resumeThread(tid: number): number;
  waitForThread(tid: number): WaitResult;
  waitForThreadEtc(tid: number, flags: number, timeout: Timeout): WaitResult;
  sendData(tid: number, code: number, data: Bytes): number;
  sendDataEtc(tid: number, code: number, data: Bytes, flags: number, timeout: Timeout): number;
  /** The calling (main JS) thread's mailbox: blocks the event loop until a message comes. */
  receiveData(bufSize: number): ReceiveResult;
  receiveDataEtc(bufSize: number, flags: number, timeout: Timeout): ReceiveResult;
  /** tid 0: the calling thread.  false as well when the call fails. */
  hasData(tid: number): boolean;
  renameThread(tid: number, name: string | null): number;
  /** null: the calling thread's tid. */
  findThread(name: string | null): number;
  getThreadInfo(tid: number): InfoResult<ThreadInfo>;
  /**
   * What a thread made by spawnThread did so far; null for any other tid, or
   * once the record is gone (the newest 256 done records are kept).
   */
  threadReport(tid: number): ThreadReport | null;

  /** Memory of size bytes (a page multiple), mapped here anywhere: its id, or a status. */
  createArea(name: string | null, size: number, lock: number, protection: number): number;
  /** A new area of this team sharing source's pages, mapped here: its id, or a status. */
  cloneArea(name: string | null, source: number, protection: number): number;
  deleteArea(id: number): number;
  findArea(name: string): number;
  resizeArea(id: number, size: number): number;
  setAreaProtection(id: number, protection: number): number;
  /** Gives the area (same id) to team and unmaps it here: the id, or a status. */
  transferArea(id: number, team: number): number;
  getAreaInfo(id: number): InfoResult<AreaInfo>;
  /** team 0 = the caller's team; start with cookie 0. */
  getNextAreaInfo(team: number, cookie: number): NextInfoResult<AreaInfo>;
  /**
   * length bytes at offset through this process's mapping of the area:
   * B_OK, getAreaInfo's error, B_BAD_VALUE (out of the area, or not mapped
   * here) or B_BAD_ADDRESS (the mapping does not allow reading).
   */
  areaRead(id: number, offset: number, length: number): { status: number; data: Buffer };
  /** The same for writing: B_BAD_ADDRESS when the mapping is not writable. */
  areaWrite(id: number, offset: number, data: Bytes): number;
  /** mprotect(2) of this process's mapping of the area with PROT_* bits: 0 or -errno (or a status). */
  areaMprotect(id: number, prot: number): number;

  // The same calls on the libuv thread pool: the thread that waits or sends
  // is then a pool thread of this process.
  waitForThreadEtcAsync(tid: number, flags: number, timeout: Timeout): Promise<WaitResult>;
  sendDataEtcAsync(tid: number, code: number, data: Bytes, flags: number, timeout: Timeout): Promise<number>;

  /** This process's /dev/nexus descriptor (opened on first use), or -errno. */
  fd(): number;
  /** CLOCK_MONOTONIC in microseconds (the clock of B_ABSOLUTE_TIMEOUT). */
  systemTime(): bigint;
  gettid(): number;
  /** NEXUS_PORT_CREATE straight on a descriptor, bypassing libnexus. */
  rawIoctlPortCreate(fd: number, capacity: number, name: string | null): RawIoctlResult;
  /**
   * ioctl(fd, request, arg): arg is a request struct built by hand (its
   * bytes are passed by address and written back in place) or a bigint
   * passed as is (a bad pointer, a by-value argument).  rc is the ioctl's
   * return value, errno its errno when rc < 0 (else 0).
   */
  rawIoctl(fd: number, request: number, arg: Bytes | bigint): { rc: number; errno: number };
  /** Where a buffer's bytes are, to point a hand-built request at them. */
  addressOf(buffer: Bytes): bigint;
  /** This process's /dev/nexus_area descriptor (opened on first use), or -errno. */
  areaFd(): number;
  /** NEXUS_AREA_CLONE straight on areaFd(), bypassing libnexus: the clone's descriptor is left open. */
  rawAreaClone(source: number, name: string | null, protection: number): RawAreaCloneResult;
  /**
   * mmap(fd, size, prot (PROT_*), MAP_SHARED or MAP_PRIVATE): errno 0 when
   * it mapped; then, with mprotectTo, mprotect(mprotectTo) as well
   * (mprotectErrno).  The mapping is undone before this returns.
   */
  /**
   * mmap(fd, size, prot), then mprotect(mprotectTo) if given, then (mapped
   * writable, writeByte given) write writeByte at offset 0 and read it back
   * (readBack, -1 when the mapping is not writable); unmapped on return.
   */
  mmapFd(fd: number, size: number, prot: number, shared: boolean, mprotectTo?: number, writeByte?: number): { errno: number; mprotectErrno?: number; readBack?: number };
  /** close(2): 0 or -errno. */
  closeFd(fd: number): number;

  // Vrefs (/dev/nexus_node_monitor): the kernel's result as it is, 0 or -errno.
  /** A vref of fd's file (the creating descriptor's access bounds every open). */
  vrefCreate(fd: number): VrefCreateResult;
  /** One more slot of this team: its key (0n on error). -EPERM: key is no slot of this team's; -EBADF: unknown id. */
  vrefAcquire(id: number, key: bigint): { status: number; key: bigint };
  /** Drops the slot: 0 or -errno. */
  vrefRelease(id: number, key: bigint): number;
  /** A new descriptor (close it with closeFd) opened with open(2) flags mode (O_* constants below): fd -1 on error. */
  vrefOpen(id: number, key: bigint, mode: number): { status: number; fd: number };
  /**
   * write_port_caps_etc: a message carrying vrefs this team holds; a status
   * (B_NOT_ALLOWED: a vref not held, nothing queued).  flags and timeout
   * default to 0 (no timeout flag: may block forever).
   */
  writePortCaps(port: number, code: number, data: Bytes, caps: PortCapIn[], flags?: number, timeout?: Timeout): number;
  /** read_port_caps_etc with size bytes and capsRoom caps of room. */
  readPortCaps(port: number, size: number, capsRoom: number, flags?: number, timeout?: Timeout): ReadCapsResult;
  /** The same on the libuv thread pool. */
  readPortCapsAsync(port: number, size: number, capsRoom: number, flags?: number, timeout?: Timeout): Promise<ReadCapsResult>;

  // The node monitor's requests, raw on /dev/nexus_node_monitor: 0 or -errno.
  /**
   * NEXUS_START_WATCHING: fd >= 0 watches that node; fd -1 with vrefId > 0
   * the vref's node; fd -1 without a vref (vrefId 0, the default) the
   * volume watch (flags exactly B_WATCH_MOUNT).  token: int32 or uint32.
   */
  startWatching(fd: number, flags: number, port: number, token: number, vrefId?: number): number;
  /** NEXUS_STOP_WATCHING by st_dev/st_ino (fs.statSync(p, { bigint: true }).dev/.ino); -1 or ~0n both: the volume watch. */
  stopWatching(device: bigint | number, node: bigint | number, port: number, token: number): number;
  /** NEXUS_STOP_NOTIFYING: every watch of this team for port and token (-ENOENT: none). */
  stopNotifying(port: number, token: number): number;
  /** This process's /dev/nexus_node_monitor descriptor (opened on first use), or -errno. */
  nodeMonitorFd(): number;
}

/** What nexus.node exports besides the functions: its constants, compiled from nexus.h. */
export interface NativeConstants {
  [name: string]: number | bigint | string;
}

const require = createRequire(import.meta.url);
const addon = require('./nexus.node') as Nexus & { constants: NativeConstants };

export const nx: Nexus = addon;
/** The constants as the addon was compiled with them (the unit tests compare them with the ones below). */
export const nativeConstants: Readonly<NativeConstants> = addon.constants;

export const NEXUS_DEVICE_PATH = '/dev/nexus';
export const NEXUS_AREA_DEVICE_PATH = '/dev/nexus_area';
export const NEXUS_NODE_MONITOR_DEVICE_PATH = '/dev/nexus_node_monitor';
export const B_OS_NAME_LENGTH = 32;
export const B_CURRENT_TEAM = 0;

// Status values.
export const B_OK = 0;
export const B_ERROR = -1;
export const B_BAD_VALUE = -22;
export const B_NO_MEMORY = -12;
export const B_TIMED_OUT = -110;
export const B_WOULD_BLOCK = -11;
export const B_INTERRUPTED = -4;
export const B_BAD_ADDRESS = -14;
export const B_BAD_TEAM_ID = -3;
export const B_ENTRY_NOT_FOUND = -2;
export const B_BUFFER_OVERFLOW = -75;
export const B_NO_MORE_SEMS = -37;
export const B_NO_MORE_PORTS = -23;
export const B_GENERAL_ERROR_BASE = -2147483648;
export const B_NOT_ALLOWED = B_GENERAL_ERROR_BASE + 16;
export const B_BAD_SEM_ID = B_GENERAL_ERROR_BASE + 0x2001;
export const B_BAD_THREAD_ID = B_GENERAL_ERROR_BASE + 0x2003;
export const B_BAD_THREAD_STATE = B_GENERAL_ERROR_BASE + 0x2004;
export const B_BAD_PORT_ID = B_GENERAL_ERROR_BASE + 0x2008;
export const B_NAME_NOT_FOUND = -2147454966;

// Timeout flags.
export const B_CAN_INTERRUPT = 0x01;
export const B_DO_NOT_RESCHEDULE = 0x02;
export const B_TIMEOUT = 0x08;
export const B_RELATIVE_TIMEOUT = 0x08;
export const B_ABSOLUTE_TIMEOUT = 0x10;
export const B_KILL_CAN_INTERRUPT = 0x20;
export const B_INFINITE_TIMEOUT = 0x7fffffffffffffffn;

// Semaphore release flags (and B_DO_NOT_RESCHEDULE above).
export const B_RELEASE_ALL = 0x08;
export const B_RELEASE_IF_WAITING_ONLY = 0x10;

// Limits.
export const NEXUS_PORT_MAX_CAPACITY = 4096;
export const NEXUS_PORT_MAX_MESSAGE_SIZE = 256 * 1024;
export const PORT_MAX_CAPACITY = NEXUS_PORT_MAX_CAPACITY;
export const PORT_MAX_MESSAGE_SIZE = NEXUS_PORT_MAX_MESSAGE_SIZE;

// Thread states (getThreadInfo's state; Haiku's thread_state).
export const B_THREAD_RUNNING = 1;
export const B_THREAD_READY = 2;
export const B_THREAD_RECEIVING = 3;
export const B_THREAD_ASLEEP = 4;
export const B_THREAD_SUSPENDED = 5;
export const B_THREAD_WAITING = 6;
/** send_data's largest message (Haiku's); more is B_NO_MEMORY. */
export const NEXUS_THREAD_MAX_MESSAGE_SIZE = 65536;

// Area protection bits and lock kinds (recorded and reported; memory is pageable shmem).
export const B_READ_AREA = 0x01;
export const B_WRITE_AREA = 0x02;
export const B_EXECUTE_AREA = 0x04;
export const B_CLONEABLE_AREA = 0x100;
export const B_NO_LOCK = 0;
export const B_LAZY_LOCK = 1;
export const B_FULL_LOCK = 2;
export const B_CONTIGUOUS = 3;
export const B_LOMEM = 4;

// libnexus's: thread priorities (recorded, not applied) and area address specs.
export const B_PAGE_SIZE = 4096;
export const B_IDLE_PRIORITY = 0;
export const B_LOWEST_ACTIVE_PRIORITY = 1;
export const B_LOW_PRIORITY = 5;
export const B_NORMAL_PRIORITY = 10;
export const B_DISPLAY_PRIORITY = 15;
export const B_URGENT_DISPLAY_PRIORITY = 20;
export const B_REAL_TIME_DISPLAY_PRIORITY = 100;
export const B_URGENT_PRIORITY = 110;
export const B_REAL_TIME_PRIORITY = 120;
export const B_ANY_ADDRESS = 0;
export const B_EXACT_ADDRESS = 1;
export const B_BASE_ADDRESS = 2;
export const B_CLONE_ADDRESS = 3;
export const B_ANY_KERNEL_ADDRESS = 4;
export const B_RANDOMIZED_ANY_ADDRESS = 6;
export const B_RANDOMIZED_BASE_ADDRESS = 7;

// mmap/mprotect protections (areaMprotect, mmapFd).
export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

// open(2) flags (<fcntl.h>, x86-64): vrefOpen's modes (node's fs.constants has no O_PATH nor O_CLOEXEC).
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;

// Port capabilities (vrefs carried by messages).
export const NEXUS_PORT_CAP_VREF = 1;
export const NEXUS_PORT_MAX_CAPS = 1024;

// Node monitor watch flags (Haiku's).
export const B_STOP_WATCHING = 0x00;
export const B_WATCH_NAME = 0x01;
export const B_WATCH_STAT = 0x02;
export const B_WATCH_ATTR = 0x04;
export const B_WATCH_DIRECTORY = 0x08;
export const B_WATCH_ALL = 0x0f;
export const B_WATCH_MOUNT = 0x10;
export const B_WATCH_INTERIM_STAT = 0x20;
export const B_WATCH_CHILDREN = 0x40;
/** Every watch flag the kernel takes. */
export const NEXUS_WATCH_FLAGS = 0x7f;

/** The code of every node monitor message ('NDMN'), and the "opcode" field's values. */
export const B_NODE_MONITOR = 0x4e444d4e;
export const B_ENTRY_CREATED = 1;
export const B_ENTRY_REMOVED = 2;
export const B_ENTRY_MOVED = 3;
export const B_STAT_CHANGED = 4;
export const B_ATTR_CHANGED = 5;
export const B_DEVICE_MOUNTED = 6;
export const B_DEVICE_UNMOUNTED = 7;
/** Nexus: events were lost past the listener's backlog ('NXDP'; field "dropped" = how many). */
export const NEXUS_EVENTS_DROPPED = 0x4e584450;

// B_STAT_CHANGED "fields" bits.
export const B_STAT_MODE = 0x0001;
export const B_STAT_UID = 0x0002;
export const B_STAT_GID = 0x0004;
export const B_STAT_SIZE = 0x0008;
export const B_STAT_ACCESS_TIME = 0x0010;
export const B_STAT_MODIFICATION_TIME = 0x0020;
export const B_STAT_CREATION_TIME = 0x0040;
export const B_STAT_CHANGE_TIME = 0x0080;
/** Set on the interim updates of writes (B_WATCH_INTERIM_STAT watchers only). */
export const B_STAT_INTERIM_UPDATE = 0x1000;

// B_ATTR_CHANGED "cause".
export const B_ATTR_CREATED = 1;
export const B_ATTR_REMOVED = 2;
export const B_ATTR_CHANGED_CAUSE = 3;

// KMessage, the format of node monitor messages (scenarios/lib/kmessage.ts decodes them).
export const KMESSAGE_MAGIC = 0x6b4d7347; // 'kMsG'
export const KMESSAGE_HEADER_SIZE = 28;
/** A field's header before its name (type, element size, count, field size, int16 header size); with the name: align4(20 + strlen(name)). */
export const KMESSAGE_FIELD_HEADER_SIZE = 18;
export const B_INT32_TYPE = 0x4c4f4e47; // 'LONG'
export const B_INT64_TYPE = 0x4c4c4e47; // 'LLNG'
export const B_STRING_TYPE = 0x43535452; // 'CSTR'

// ioctl numbers (asm-generic _IOC: dir << 30 | size << 16 | type << 8 | nr).
const IOC_NONE = 0;
const IOC_WRITE = 1;
const IOC_RW = 3;
export const NEXUS_IOCTL_MAGIC = 0x6e; // 'n'
export const NEXUS_AREA_IOCTL_MAGIC = 0x41; // 'A'
export const NEXUS_VREF_IOCTL_MAGIC = 0x56; // 'V'
export const NEXUS_WATCH_IOCTL_MAGIC = 0x48; // 'H'
function ioc(dir: number, nr: number, size: number, type = NEXUS_IOCTL_MAGIC): number {
  return ((dir << 30) | (size << 16) | (type << 8) | nr) >>> 0;
}
function area(nr: number, size: number): number {
  return ioc(IOC_RW, nr, size, NEXUS_AREA_IOCTL_MAGIC);
}
export const NEXUS_PORT_CREATE = ioc(IOC_RW, 10, 32);
export const NEXUS_PORT_CLOSE = ioc(IOC_RW, 11, 8);
export const NEXUS_PORT_FIND = ioc(IOC_RW, 12, 24);
export const NEXUS_GET_NEXT_PORT_FOR_TEAM = ioc(IOC_RW, 13, 64);
export const NEXUS_PORT_DELETE = ioc(IOC_RW, 30, 8);
export const NEXUS_PORT_READ = ioc(IOC_RW, 31, 56);
export const NEXUS_PORT_WRITE = ioc(IOC_RW, 32, 56);
export const NEXUS_PORT_INFO = ioc(IOC_RW, 33, 24);
export const NEXUS_PORT_MESSAGE_INFO = ioc(IOC_RW, 34, 48);
export const NEXUS_SET_PORT_OWNER = ioc(IOC_RW, 35, 12);
export const NEXUS_PORT_WRITE_CAPS = ioc(IOC_RW, 36, 72);
export const NEXUS_PORT_READ_CAPS = ioc(IOC_RW, 37, 72);
export const NEXUS_SEM_CREATE = ioc(IOC_RW, 40, 24);
export const NEXUS_SEM_ACQUIRE = ioc(IOC_RW, 41, 32);
export const NEXUS_SEM_RELEASE = ioc(IOC_RW, 42, 32);
export const NEXUS_SEM_DELETE = ioc(IOC_RW, 43, 8);
export const NEXUS_SEM_COUNT = ioc(IOC_RW, 44, 12);
export const NEXUS_SEM_INFO = ioc(IOC_RW, 45, 60);
export const NEXUS_SEM_NEXT_INFO = ioc(IOC_RW, 46, 60);
export const NEXUS_THREAD_SPAWN = ioc(IOC_NONE, 1, 0);
export const NEXUS_THREAD_SET_NAME = ioc(IOC_WRITE, 3, 16);
export const NEXUS_THREAD_WAIT_NEWBORN = ioc(IOC_NONE, 4, 0);
export const NEXUS_THREAD_CLONE_EXECUTED = ioc(IOC_NONE, 5, 0);
export const NEXUS_THREAD_RESUME = ioc(IOC_NONE, 6, 0);
export const NEXUS_THREAD_SET_RETURN_CODE = ioc(IOC_NONE, 7, 0);
export const NEXUS_THREAD_READ = ioc(IOC_RW, 20, 48);
export const NEXUS_THREAD_WRITE = ioc(IOC_RW, 21, 48);
export const NEXUS_THREAD_HAS_DATA = ioc(IOC_RW, 22, 48);
export const NEXUS_THREAD_WAITFOR = ioc(IOC_RW, 23, 24);
export const NEXUS_THREAD_GET_INFO = ioc(IOC_RW, 24, 48);
export const NEXUS_AREA_CREATE = area(1, 64);
export const NEXUS_AREA_CLONE = area(2, 64);
export const NEXUS_AREA_DELETE = area(3, 8);
export const NEXUS_AREA_FIND = area(4, 56);
export const NEXUS_AREA_GET_INFO = area(5, 64);
export const NEXUS_AREA_RESIZE = area(6, 24);
export const NEXUS_AREA_SET_PROTECTION = area(7, 12);
export const NEXUS_AREA_TRANSFER = area(8, 20);
export const NEXUS_AREA_GET_NEXT = area(9, 72);
export const NEXUS_VREF_CREATE = ioc(IOC_RW, 6, 16, NEXUS_VREF_IOCTL_MAGIC);
export const NEXUS_VREF_ACQUIRE = ioc(IOC_RW, 7, 16, NEXUS_VREF_IOCTL_MAGIC);
export const NEXUS_VREF_RELEASE = ioc(IOC_RW, 8, 16, NEXUS_VREF_IOCTL_MAGIC);
export const NEXUS_VREF_OPEN = ioc(IOC_RW, 9, 24, NEXUS_VREF_IOCTL_MAGIC);
export const NEXUS_START_WATCHING = ioc(IOC_WRITE, 1, 24, NEXUS_WATCH_IOCTL_MAGIC);
export const NEXUS_STOP_WATCHING = ioc(IOC_WRITE, 2, 24, NEXUS_WATCH_IOCTL_MAGIC);
export const NEXUS_STOP_NOTIFYING = ioc(IOC_WRITE, 3, 8, NEXUS_WATCH_IOCTL_MAGIC);
