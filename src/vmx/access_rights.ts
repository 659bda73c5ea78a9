/**
 * The guest segment access-rights format of the VMCS (fields 0x4814-0x4822), as SDM
 * Vol. 3, §24.4.1 (Table 24-2) defines it.
 *
 * @module
 */

/** AR bits 3:0: segment type (SDM Vol. 3, §24.4.1). */
export const AR_TYPE_MASK = 0xf;
/** AR bit 4: S, 1 = code or data segment (SDM Vol. 3, §24.4.1). */
export const AR_S = 0x10;
/** AR bits 6:5: DPL (SDM Vol. 3, §24.4.1). */
export const AR_DPL_SHIFT = 5;
/** AR bit 7: P, present (SDM Vol. 3, §24.4.1). */
export const AR_P = 0x80;
/** AR bit 12: AVL (SDM Vol. 3, §24.4.1). */
export const AR_AVL = 0x1000;
/** AR bit 13: L, 64-bit code segment (SDM Vol. 3, §24.4.1). */
export const AR_L = 0x2000;
/** AR bit 14: D/B (SDM Vol. 3, §24.4.1). */
export const AR_DB = 0x4000;
/** AR bit 15: G, granularity (SDM Vol. 3, §24.4.1). */
export const AR_G = 0x8000;
/** AR bit 16: segment unusable (SDM Vol. 3, §24.4.1; Linux VMX_AR_UNUSABLE_MASK). */
export const AR_UNUSABLE = 0x10000;
/** AR bits 11:8 and 31:17: reserved, must be 0 (SDM Vol. 3, §24.4.1; Linux VMX_AR_RESERVD_MASK). */
export const AR_RESERVED_MASK = 0xfffe0f00;

/** Decoded segment access rights. */
export interface AccessRights {
  /** Segment type, bits 3:0. */
  type: number;
  /** S bit: code/data (true) or system (false). */
  s: boolean;
  /** Descriptor privilege level 0-3. */
  dpl: number;
  /** Present. */
  p: boolean;
  /** Available for system software. */
  avl: boolean;
  /** 64-bit code segment. */
  l: boolean;
  /** Default operation size / big. */
  db: boolean;
  /** Granularity: limit in 4 KiB units. */
  g: boolean;
  /** Segment unusable (VMX-specific bit 16). */
  unusable: boolean;
}

/**
 * Encodes access rights in the VMCS format (SDM Vol. 3, §24.4.1).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { encodeAccessRights } from "./access_rights.ts";
 * // 64-bit code, DPL 0, present, accessed, execute/read: the usual 0xA09B
 * equal(encodeAccessRights({ type: 11, s: true, dpl: 0, p: true, avl: false, l: true, db: false, g: true,
 *   unusable: false }), 0xa09b);
 * ```
 */
export function encodeAccessRights(ar: AccessRights): number {
  return (ar.type & AR_TYPE_MASK) | (ar.s ? AR_S : 0) | ((ar.dpl & 3) << AR_DPL_SHIFT) | (ar.p ? AR_P : 0) |
    (ar.avl ? AR_AVL : 0) | (ar.l ? AR_L : 0) | (ar.db ? AR_DB : 0) | (ar.g ? AR_G : 0) |
    (ar.unusable ? AR_UNUSABLE : 0);
}

/** Decodes access rights from the VMCS format (SDM Vol. 3, §24.4.1); reserved bits are ignored. */
export function decodeAccessRights(ar: number): AccessRights {
  return {
    type: ar & AR_TYPE_MASK,
    s: (ar & AR_S) !== 0,
    dpl: (ar >>> AR_DPL_SHIFT) & 3,
    p: (ar & AR_P) !== 0,
    avl: (ar & AR_AVL) !== 0,
    l: (ar & AR_L) !== 0,
    db: (ar & AR_DB) !== 0,
    g: (ar & AR_G) !== 0,
    unusable: (ar & AR_UNUSABLE) !== 0,
  };
}

/** Converts a descriptor's access bytes (descriptor bits 47:40 and 55:52, as `(hi >> 8) & 0xf0ff`) to VMCS AR. */
export function accessRightsFromDescriptor(descriptorHigh: number): number {
  return (descriptorHigh >>> 8) & 0xf0ff;
}
