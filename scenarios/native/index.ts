// The Haiku port and semaphore API for scenarios: nexus.node (binding/*.c over
// libnexus) typed, plus the ABI's constants (kernel/include/nexus.h).
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

export interface RawIoctlResult {
  /** 0, or errno of the failed ioctl (EPERM for a descriptor of another process). */
  errno: number;
  ret: number;
  id: number;
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

// Port capabilities (vrefs carried by messages; numbered, not carried out yet).
export const NEXUS_PORT_CAP_VREF = 1;
export const NEXUS_PORT_MAX_CAPS = 1024;

// ioctl numbers (asm-generic _IOC: dir << 30 | size << 16 | type << 8 | nr).
const IOC_NONE = 0;
const IOC_WRITE = 1;
const IOC_RW = 3;
export const NEXUS_IOCTL_MAGIC = 0x6e; // 'n'
export const NEXUS_AREA_IOCTL_MAGIC = 0x41; // 'A'
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
