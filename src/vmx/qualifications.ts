/**
 * Formats of VM-exit information: exit qualifications (I/O, control- and debug-register accesses, EPT
 * violations, VM-entry failures), interruption-information fields (VM-exit, IDT-vectoring, VM-entry)
 * and the VM-exit instruction-information field for RDRAND and RDSEED. The CPU encodes with these
 * when it exits, and the hypervisor decodes with them.
 * Layouts from SDM Vol. 3, §24.8.3, §24.9 and §27.2; every encoder/decoder pair round-trips.
 *
 * @module
 */

// ---------------------------------------------------------------------------------------------
// I/O instructions, exit reason 30 (SDM Vol. 3, Table 27-5).

/** I/O qualification bits 2:0: size of access minus 1 (SDM Vol. 3, §27.2.1, Table 27-5). */
export const IO_QUAL_SIZE_MASK = 0x7;
/** I/O qualification bit 3: direction, 1 = IN (SDM Vol. 3, §27.2.1, Table 27-5). */
export const IO_QUAL_IN = 0x8;
/** I/O qualification bit 4: string instruction (SDM Vol. 3, §27.2.1, Table 27-5). */
export const IO_QUAL_STRING = 0x10;
/** I/O qualification bit 5: REP prefixed (SDM Vol. 3, §27.2.1, Table 27-5). */
export const IO_QUAL_REP = 0x20;
/** I/O qualification bit 6: operand encoding, 1 = immediate port (SDM Vol. 3, §27.2.1, Table 27-5). */
export const IO_QUAL_IMMEDIATE = 0x40;
/** I/O qualification bits 31:16: port number (SDM Vol. 3, §27.2.1, Table 27-5). */
export const IO_QUAL_PORT_SHIFT = 16;

/** Decoded I/O-instruction exit qualification. */
export interface IoQualification {
  /** Access size in bytes. */
  size: 1 | 2 | 4;
  /** True for IN/INS, false for OUT/OUTS. */
  in: boolean;
  /** True for INS/OUTS. */
  string: boolean;
  /** True if REP prefixed. */
  rep: boolean;
  /** True if the port is an immediate operand, false if it is in DX. */
  immediate: boolean;
  /** Port number 0-0xFFFF. */
  port: number;
}

/**
 * Encodes an I/O exit qualification (SDM Vol. 3, §27.2.1, Table 27-5).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { encodeIoQualification } from "./qualifications.ts";
 * // OUT DX, AL to port 0xE9
 * equal(encodeIoQualification({ size: 1, in: false, string: false, rep: false, immediate: false, port: 0xe9 }), 0xe90000);
 * ```
 */
export function encodeIoQualification(q: IoQualification): number {
  return (((q.port & 0xffff) << IO_QUAL_PORT_SHIFT) | (q.size - 1) | (q.in ? IO_QUAL_IN : 0) |
    (q.string ? IO_QUAL_STRING : 0) | (q.rep ? IO_QUAL_REP : 0) | (q.immediate ? IO_QUAL_IMMEDIATE : 0)) >>>
    0;
}

/** Decodes an I/O exit qualification; throws a RangeError for a size code other than 0, 1 or 3. */
export function decodeIoQualification(qualification: number): IoQualification {
  const code = qualification & IO_QUAL_SIZE_MASK;
  if (code !== 0 && code !== 1 && code !== 3) {
    throw new RangeError(
      `I/O exit qualification has size code ${code}: expected 0, 1 or 3 (1, 2 or 4 bytes)`,
    );
  }
  return {
    size: (code + 1) as 1 | 2 | 4,
    in: (qualification & IO_QUAL_IN) !== 0,
    string: (qualification & IO_QUAL_STRING) !== 0,
    rep: (qualification & IO_QUAL_REP) !== 0,
    immediate: (qualification & IO_QUAL_IMMEDIATE) !== 0,
    port: (qualification >>> IO_QUAL_PORT_SHIFT) & 0xffff,
  };
}

// ---------------------------------------------------------------------------------------------
// Control-register accesses, exit reason 28 (SDM Vol. 3, Table 27-3).

/** CR-access type 0: MOV to CR (SDM Vol. 3, §27.2.1, Table 27-3). */
export const CR_ACCESS_MOV_TO_CR = 0;
/** CR-access type 1: MOV from CR (SDM Vol. 3, §27.2.1, Table 27-3). */
export const CR_ACCESS_MOV_FROM_CR = 1;
/** CR-access type 2: CLTS (SDM Vol. 3, §27.2.1, Table 27-3). */
export const CR_ACCESS_CLTS = 2;
/** CR-access type 3: LMSW (SDM Vol. 3, §27.2.1, Table 27-3). */
export const CR_ACCESS_LMSW = 3;

/** Decoded control-register-access exit qualification. */
export interface CrAccessQualification {
  /** Control register: 0, 3, 4 or 8 (0 for CLTS and LMSW). Bits 3:0. */
  cr: number;
  /** CR_ACCESS_MOV_TO_CR, CR_ACCESS_MOV_FROM_CR, CR_ACCESS_CLTS or CR_ACCESS_LMSW. Bits 5:4. */
  accessType: number;
  /** LMSW operand is memory (bit 6). */
  lmswMemory: boolean;
  /** General-purpose register of MOV CR, 0 = RAX ... 15 = R15 (bits 11:8). */
  gpr: number;
  /** LMSW source data (bits 31:16). */
  lmswData: number;
}

/** Encodes a control-register-access exit qualification (SDM Vol. 3, §27.2.1, Table 27-3). */
export function encodeCrAccessQualification(q: CrAccessQualification): number {
  return ((q.cr & 0xf) | ((q.accessType & 3) << 4) | (q.lmswMemory ? 0x40 : 0) | ((q.gpr & 0xf) << 8) |
    ((q.lmswData & 0xffff) << 16)) >>> 0;
}

/** Decodes a control-register-access exit qualification; the CR number is bits 3:0 (SDM Vol. 3, §27.2.1, Table 27-3). */
export function decodeCrAccessQualification(qualification: number): CrAccessQualification {
  return {
    cr: qualification & 0xf,
    accessType: (qualification >>> 4) & 3,
    lmswMemory: (qualification & 0x40) !== 0,
    gpr: (qualification >>> 8) & 0xf,
    lmswData: (qualification >>> 16) & 0xffff,
  };
}

// ---------------------------------------------------------------------------------------------
// MOV DR, exit reason 29 (SDM Vol. 3, Table 27-4).

/** Decoded MOV-DR exit qualification. */
export interface DrAccessQualification {
  /** Debug register number 0-7 (bits 2:0). */
  dr: number;
  /** True for MOV from DR, false for MOV to DR (bit 4). */
  fromDr: boolean;
  /** General-purpose register, 0 = RAX ... 15 = R15 (bits 11:8). */
  gpr: number;
}

/**
 * Encodes a MOV-DR exit qualification (SDM Vol. 3, §27.2.1, Table 27-4).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { encodeDrAccessQualification } from "./qualifications.ts";
 * // MOV RAX, DR7
 * equal(encodeDrAccessQualification({ dr: 7, fromDr: true, gpr: 0 }), 0x17);
 * ```
 */
export function encodeDrAccessQualification(q: DrAccessQualification): number {
  return (q.dr & 7) | (q.fromDr ? 0x10 : 0) | ((q.gpr & 0xf) << 8);
}

/** Decodes a MOV-DR exit qualification (SDM Vol. 3, §27.2.1, Table 27-4). */
export function decodeDrAccessQualification(qualification: number): DrAccessQualification {
  return { dr: qualification & 7, fromDr: (qualification & 0x10) !== 0, gpr: (qualification >>> 8) & 0xf };
}

// ---------------------------------------------------------------------------------------------
// EPT violations, exit reason 48 (SDM Vol. 3, Table 27-7).

/** EPT-violation qualification bit 0: the access was a data read (SDM Vol. 3, §27.2.1, Table 27-7). */
export const EPT_VIOLATION_READ = 0x1;
/** EPT-violation qualification bit 1: the access was a data write (SDM Vol. 3, §27.2.1, Table 27-7). */
export const EPT_VIOLATION_WRITE = 0x2;
/** EPT-violation qualification bit 2: the access was an instruction fetch (SDM Vol. 3, §27.2.1, Table 27-7). */
export const EPT_VIOLATION_FETCH = 0x4;
/** EPT-violation qualification bit 3: AND of the R bits of the walked entries (SDM Vol. 3, §27.2.1, Table 27-7). */
export const EPT_VIOLATION_READABLE = 0x8;
/** EPT-violation qualification bit 4: AND of the W bits of the walked entries (SDM Vol. 3, §27.2.1, Table 27-7). */
export const EPT_VIOLATION_WRITABLE = 0x10;
/** EPT-violation qualification bit 5: AND of the X bits of the walked entries (SDM Vol. 3, §27.2.1, Table 27-7). */
export const EPT_VIOLATION_EXECUTABLE = 0x20;
/** EPT-violation qualification bit 6: AND of user-execute bits with mode-based control (SDM Vol. 3, §27.2.1, Table 27-7). */
export const EPT_VIOLATION_USER_EXECUTABLE = 0x40;
/** EPT-violation qualification bit 7: guest-linear-address field is valid (SDM Vol. 3, §27.2.1, Table 27-7). */
export const EPT_VIOLATION_LINEAR_VALID = 0x80;
/** EPT-violation qualification bit 8: access to the final translation, not a paging entry (SDM Vol. 3, §27.2.1, Table 27-7). */
export const EPT_VIOLATION_FINAL_TRANSLATION = 0x100;
/** EPT-violation qualification bit 12: NMI unblocking due to IRET (SDM Vol. 3, §27.2.1, Table 27-7). */
export const EPT_VIOLATION_NMI_UNBLOCKING = 0x1000;

/** Decoded EPT-violation exit qualification. */
export interface EptViolationQualification {
  /** Bit 0: data read. */
  read: boolean;
  /** Bit 1: data write. */
  write: boolean;
  /** Bit 2: instruction fetch. */
  fetch: boolean;
  /** Bit 3: readable through every entry walked. */
  readable: boolean;
  /** Bit 4: writable through every entry walked. */
  writable: boolean;
  /** Bit 5: executable through every entry walked. */
  executable: boolean;
  /** Bit 7: GUEST_LINEAR_ADDRESS is valid. */
  linearValid: boolean;
  /** Bit 8: the access was to the final translation (only meaningful with bit 7). */
  finalTranslation: boolean;
  /** Bit 12: NMI unblocking due to IRET. */
  nmiUnblocking: boolean;
}

/**
 * Encodes an EPT-violation exit qualification (SDM Vol. 3, §27.2.1, Table 27-7).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { encodeEptViolationQualification } from "./qualifications.ts";
 * // A write to a read-only, executable page, linear address valid, final translation.
 * equal(encodeEptViolationQualification({ read: false, write: true, fetch: false, readable: true, writable: false,
 *   executable: true, linearValid: true, finalTranslation: true, nmiUnblocking: false }), 0x1aa);
 * ```
 */
export function encodeEptViolationQualification(q: EptViolationQualification): number {
  return (q.read ? EPT_VIOLATION_READ : 0) | (q.write ? EPT_VIOLATION_WRITE : 0) |
    (q.fetch ? EPT_VIOLATION_FETCH : 0) | (q.readable ? EPT_VIOLATION_READABLE : 0) |
    (q.writable ? EPT_VIOLATION_WRITABLE : 0) | (q.executable ? EPT_VIOLATION_EXECUTABLE : 0) |
    (q.linearValid ? EPT_VIOLATION_LINEAR_VALID : 0) |
    (q.finalTranslation ? EPT_VIOLATION_FINAL_TRANSLATION : 0) |
    (q.nmiUnblocking ? EPT_VIOLATION_NMI_UNBLOCKING : 0);
}

/** Decodes an EPT-violation exit qualification (SDM Vol. 3, §27.2.1, Table 27-7). */
export function decodeEptViolationQualification(qualification: number): EptViolationQualification {
  return {
    read: (qualification & EPT_VIOLATION_READ) !== 0,
    write: (qualification & EPT_VIOLATION_WRITE) !== 0,
    fetch: (qualification & EPT_VIOLATION_FETCH) !== 0,
    readable: (qualification & EPT_VIOLATION_READABLE) !== 0,
    writable: (qualification & EPT_VIOLATION_WRITABLE) !== 0,
    executable: (qualification & EPT_VIOLATION_EXECUTABLE) !== 0,
    linearValid: (qualification & EPT_VIOLATION_LINEAR_VALID) !== 0,
    finalTranslation: (qualification & EPT_VIOLATION_FINAL_TRANSLATION) !== 0,
    nmiUnblocking: (qualification & EPT_VIOLATION_NMI_UNBLOCKING) !== 0,
  };
}

// ---------------------------------------------------------------------------------------------
// VM-entry failure (exit reason 33 with bit 31) qualifications (SDM Vol. 3, §26.7).

/** Entry-failure qualification 0: default (SDM Vol. 3, §26.7). */
export const ENTRY_FAILURE_DEFAULT = 0;
/** Entry-failure qualification 2: PDPTE loading failed (SDM Vol. 3, §26.7). */
export const ENTRY_FAILURE_PDPTE = 2;
/** Entry-failure qualification 3: NMI injection into a guest blocking events by STI (SDM Vol. 3, §26.7). */
export const ENTRY_FAILURE_NMI_INJECTION = 3;
/** Entry-failure qualification 4: invalid VMCS link pointer (SDM Vol. 3, §26.7). */
export const ENTRY_FAILURE_VMCS_LINK_POINTER = 4;

// ---------------------------------------------------------------------------------------------
// Interruption information: VM-exit (0x4404), IDT-vectoring (0x4408), VM-entry (0x4016)
// (SDM Vol. 3, Tables 24-15/24-16 and 24-17).

/** Interruption type 0: external interrupt (SDM Vol. 3, §24.9.2). */
export const INTR_TYPE_EXTERNAL_INTERRUPT = 0;
/** Interruption type 1: reserved (SDM Vol. 3, §24.8.3). */
export const INTR_TYPE_RESERVED = 1;
/** Interruption type 2: NMI (SDM Vol. 3, §24.9.2). */
export const INTR_TYPE_NMI = 2;
/** Interruption type 3: hardware exception (SDM Vol. 3, §24.9.2). */
export const INTR_TYPE_HARDWARE_EXCEPTION = 3;
/** Interruption type 4: software interrupt, INT n (SDM Vol. 3, §24.9.3). */
export const INTR_TYPE_SOFTWARE_INTERRUPT = 4;
/** Interruption type 5: privileged software exception, INT1 (SDM Vol. 3, §24.9.3). */
export const INTR_TYPE_PRIVILEGED_SOFTWARE_EXCEPTION = 5;
/** Interruption type 6: software exception, INT3 / INTO (SDM Vol. 3, §24.9.2). */
export const INTR_TYPE_SOFTWARE_EXCEPTION = 6;
/** Interruption type 7: other event, e.g. pending MTF (SDM Vol. 3, §24.8.3). */
export const INTR_TYPE_OTHER_EVENT = 7;

/** Interruption-information bits 7:0: vector (SDM Vol. 3, §24.9.2). */
export const INTR_INFO_VECTOR_MASK = 0xff;
/** Interruption-information bits 10:8: type (SDM Vol. 3, §24.9.2). */
export const INTR_INFO_TYPE_SHIFT = 8;
/** Interruption-information bit 11: error code valid / deliver error code (SDM Vol. 3, §24.8.3, §24.9.2). */
export const INTR_INFO_ERROR_CODE = 0x800;
/** Interruption-information bit 12: NMI unblocking due to IRET (SDM Vol. 3, §24.9.2). */
export const INTR_INFO_NMI_UNBLOCKING = 0x1000;
/** Interruption-information bits 30:12 that VM-entry requires to be 0 (SDM Vol. 3, §24.8.3). */
export const INTR_INFO_ENTRY_RESERVED_MASK = 0x7ffff000;
/** Interruption-information bit 31: valid (SDM Vol. 3, §24.9.2). */
export const INTR_INFO_VALID = 0x80000000;

/** Decoded interruption-information field. */
export interface InterruptionInfo {
  /** Vector 0-255. */
  vector: number;
  /** One of the INTR_TYPE_* values. */
  type: number;
  /** Bit 11: error code valid (exit) / deliver error code (entry). */
  errorCode: boolean;
  /** Bit 12: NMI unblocking due to IRET (VM-exit interruption information only). */
  nmiUnblocking: boolean;
  /** Bit 31: valid. */
  valid: boolean;
}

/**
 * Encodes an interruption-information field (SDM Vol. 3, §24.8.3, §24.9.2-24.9.3).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { encodeInterruptionInfo, INTR_TYPE_HARDWARE_EXCEPTION } from "./qualifications.ts";
 * // #PF with error code
 * equal(encodeInterruptionInfo({ vector: 14, type: INTR_TYPE_HARDWARE_EXCEPTION, errorCode: true,
 *   nmiUnblocking: false, valid: true }), 0x80000b0e);
 * ```
 */
export function encodeInterruptionInfo(i: InterruptionInfo): number {
  return ((i.vector & INTR_INFO_VECTOR_MASK) | ((i.type & 7) << INTR_INFO_TYPE_SHIFT) |
    (i.errorCode ? INTR_INFO_ERROR_CODE : 0) | (i.nmiUnblocking ? INTR_INFO_NMI_UNBLOCKING : 0) |
    (i.valid ? INTR_INFO_VALID : 0)) >>> 0;
}

/** Decodes an interruption-information field (SDM Vol. 3, §24.8.3, §24.9.2-24.9.3). */
export function decodeInterruptionInfo(info: number): InterruptionInfo {
  return {
    vector: info & INTR_INFO_VECTOR_MASK,
    type: (info >>> INTR_INFO_TYPE_SHIFT) & 7,
    errorCode: (info & INTR_INFO_ERROR_CODE) !== 0,
    nmiUnblocking: (info & INTR_INFO_NMI_UNBLOCKING) !== 0,
    valid: (info & INTR_INFO_VALID) !== 0,
  };
}

// ---------------------------------------------------------------------------------------------
// VM-exit instruction information for RDRAND and RDSEED (exit reasons 57 and 61), SDM Vol. 3,
// §27.2.5, "Format of the VM-Exit Instruction-Information Field as Used for RDRAND, RDSEED, TPAUSE,
// and UMWAIT": bits 6:3 the destination register, bits 12:11 the operand size (0 = 16, 1 = 32,
// 2 = 64 bit).

/** Decoded RDRAND/RDSEED instruction information. */
export interface RandomInstructionInfo {
  /** Destination register, 0 = RAX ... 15 = R15. */
  reg: number;
  /** Operand size in bytes. */
  size: 2 | 4 | 8;
}

/**
 * Encodes RDRAND/RDSEED VM-exit instruction information.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { encodeRandomInstructionInfo } from "./qualifications.ts";
 * equal(encodeRandomInstructionInfo({ reg: 9, size: 8 }), 0x1048); // RDRAND R9
 * ```
 */
export function encodeRandomInstructionInfo(i: RandomInstructionInfo): number {
  return ((i.reg & 15) << 3) | ((i.size === 2 ? 0 : i.size === 4 ? 1 : 2) << 11);
}

/** Decodes RDRAND/RDSEED VM-exit instruction information; throws a RangeError for operand-size code 3. */
export function decodeRandomInstructionInfo(info: number): RandomInstructionInfo {
  const code = (info >>> 11) & 3;
  if (code === 3) throw new RangeError("Instruction information has operand-size code 3: expected 0, 1 or 2");
  return { reg: (info >>> 3) & 15, size: code === 0 ? 2 : code === 1 ? 4 : 8 };
}

// ---------------------------------------------------------------------------------------------
// VM-exit instruction information for INS and OUTS (exit reason 30 with a string instruction),
// SDM Vol. 3 §28.2.5, "Format of the VM-Exit Instruction-Information Field as Used for INS and
// OUTS": bits 9:7 the address size (0 = 16, 1 = 32, 2 = 64 bit), bits 17:15 the segment register
// (OUTS only; 0 ES, 1 CS, 2 SS, 3 DS, 4 FS, 5 GS). Reported because IA32_VMX_BASIC bit 54 is set.

/** Decoded INS/OUTS instruction information. */
export interface StringIoInstructionInfo {
  /** Address size in bytes. */
  addressSize: 2 | 4 | 8;
  /** Segment register of the memory operand (SEG_* numbering: ES 0 ... GS 5). */
  segment: number;
}

/**
 * Encodes INS/OUTS VM-exit instruction information.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { encodeStringIoInstructionInfo } from "./qualifications.ts";
 * equal(encodeStringIoInstructionInfo({ addressSize: 8, segment: 3 }), 0x18100); // OUTS, 64-bit, DS
 * ```
 */
export function encodeStringIoInstructionInfo(i: StringIoInstructionInfo): number {
  return ((i.addressSize === 2 ? 0 : i.addressSize === 4 ? 1 : 2) << 7) | ((i.segment & 7) << 15);
}

/** Decodes INS/OUTS VM-exit instruction information; throws a RangeError for an address-size code above 2. */
export function decodeStringIoInstructionInfo(info: number): StringIoInstructionInfo {
  const code = (info >>> 7) & 7;
  if (code > 2) {
    throw new RangeError(`Instruction information has address-size code ${code}: expected 0, 1 or 2`);
  }
  return { addressSize: code === 0 ? 2 : code === 1 ? 4 : 8, segment: (info >>> 15) & 7 };
}
