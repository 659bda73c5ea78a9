import { deepEqual, equal, throws } from "node:assert/strict";
import * as Q from "../../src/vmx/qualifications.ts";
import { decodeAccessRights, encodeAccessRights } from "../../src/vmx/access_rights.ts";

Deno.test("encodeIoQualification() follows SDM Vol. 3, Table 27-5 and round-trips", () => {
  const cases: [Q.IoQualification, number][] = [
    [{ size: 1, in: false, string: false, rep: false, immediate: false, port: 0xe9 }, 0x00e90000],
    [{ size: 1, in: false, string: false, rep: false, immediate: true, port: 0xf4 }, 0x00f40040],
    [{ size: 2, in: true, string: false, rep: false, immediate: false, port: 0x3f8 }, 0x03f80009],
    [{ size: 4, in: true, string: true, rep: true, immediate: false, port: 0xffff }, 0xffff003b],
    [{ size: 1, in: false, string: true, rep: false, immediate: false, port: 0x3fd }, 0x03fd0010],
  ];
  for (const [q, n] of cases) {
    equal(Q.encodeIoQualification(q), n);
    deepEqual(Q.decodeIoQualification(n), q);
  }
  throws(() => Q.decodeIoQualification(2), /size code 2/);
});

Deno.test("encodeCrAccessQualification() follows SDM Vol. 3, Table 27-3 (CR number in bits 3:0)", () => {
  const cases: [Q.CrAccessQualification, number][] = [
    // mov cr3, rax
    [{ cr: 3, accessType: Q.CR_ACCESS_MOV_TO_CR, lmswMemory: false, gpr: 0, lmswData: 0 }, 0x3],
    // mov r9, cr8
    [{ cr: 8, accessType: Q.CR_ACCESS_MOV_FROM_CR, lmswMemory: false, gpr: 9, lmswData: 0 }, 0x918],
    // clts
    [{ cr: 0, accessType: Q.CR_ACCESS_CLTS, lmswMemory: false, gpr: 0, lmswData: 0 }, 0x20],
    // lmsw [mem] with 0x0001
    [{ cr: 0, accessType: Q.CR_ACCESS_LMSW, lmswMemory: true, gpr: 0, lmswData: 1 }, 0x10070],
    [{ cr: 4, accessType: Q.CR_ACCESS_MOV_TO_CR, lmswMemory: false, gpr: 15, lmswData: 0 }, 0xf04],
  ];
  for (const [q, n] of cases) {
    equal(Q.encodeCrAccessQualification(q), n);
    deepEqual(Q.decodeCrAccessQualification(n), q);
  }
  equal(Q.decodeCrAccessQualification(0xffff0000 | 0x30).lmswData, 0xffff);
});

Deno.test("encodeDrAccessQualification() follows SDM Vol. 3, Table 27-4 and round-trips", () => {
  // Bits 2:0 the debug register, bit 4 direction (1 = MOV from DR), bits 11:8 the GPR.
  const cases: [Q.DrAccessQualification, number][] = [
    [{ dr: 7, fromDr: true, gpr: 0 }, 0x17],
    [{ dr: 3, fromDr: false, gpr: 9 }, 0x903],
    [{ dr: 0, fromDr: false, gpr: 15 }, 0xf00],
  ];
  for (const [q, n] of cases) {
    equal(Q.encodeDrAccessQualification(q), n);
    deepEqual(Q.decodeDrAccessQualification(n), q);
  }
});

Deno.test("encodeEptViolationQualification() follows SDM Vol. 3, Table 27-7 and round-trips", () => {
  const f = false;
  const t = true;
  const cases: [Q.EptViolationQualification, number][] = [
    // read of a not-present page (permissions 000), final translation of a valid linear address
    [{
      read: t,
      write: f,
      fetch: f,
      readable: f,
      writable: f,
      executable: f,
      linearValid: t,
      finalTranslation: t,
      nmiUnblocking: f,
    }, 0x181],
    // write to R+X page
    [{
      read: f,
      write: t,
      fetch: f,
      readable: t,
      writable: f,
      executable: t,
      linearValid: t,
      finalTranslation: t,
      nmiUnblocking: f,
    }, 0x1aa],
    // guest page-walk access with A/D on: read+write, to a paging entry (bit 8 = 0)
    [{
      read: t,
      write: t,
      fetch: f,
      readable: t,
      writable: f,
      executable: t,
      linearValid: t,
      finalTranslation: f,
      nmiUnblocking: f,
    }, 0xab],
    // fetch from RW page, NMI unblocking
    [{
      read: f,
      write: f,
      fetch: t,
      readable: t,
      writable: t,
      executable: f,
      linearValid: t,
      finalTranslation: t,
      nmiUnblocking: t,
    }, 0x119c],
  ];
  for (const [q, n] of cases) {
    equal(Q.encodeEptViolationQualification(q), n);
    deepEqual(Q.decodeEptViolationQualification(n), q);
  }
});

Deno.test("encodeInterruptionInfo() follows SDM Vol. 3, §24.8.3, §24.9.2-24.9.3 and round-trips", () => {
  const cases: [Q.InterruptionInfo, number][] = [
    // external interrupt 0x20 acknowledged on exit
    [{
      vector: 0x20,
      type: Q.INTR_TYPE_EXTERNAL_INTERRUPT,
      errorCode: false,
      nmiUnblocking: false,
      valid: true,
    }, 0x80000020],
    // NMI
    [{ vector: 2, type: Q.INTR_TYPE_NMI, errorCode: false, nmiUnblocking: false, valid: true }, 0x80000202],
    // #GP with error code
    [
      {
        vector: 13,
        type: Q.INTR_TYPE_HARDWARE_EXCEPTION,
        errorCode: true,
        nmiUnblocking: false,
        valid: true,
      },
      0x80000b0d,
    ],
    // INT3
    [
      {
        vector: 3,
        type: Q.INTR_TYPE_SOFTWARE_EXCEPTION,
        errorCode: false,
        nmiUnblocking: false,
        valid: true,
      },
      0x80000603,
    ],
    // INT 0x80
    [{
      vector: 0x80,
      type: Q.INTR_TYPE_SOFTWARE_INTERRUPT,
      errorCode: false,
      nmiUnblocking: false,
      valid: true,
    }, 0x80000480],
    // #DF with NMI unblocking
    [
      { vector: 8, type: Q.INTR_TYPE_HARDWARE_EXCEPTION, errorCode: true, nmiUnblocking: true, valid: true },
      0x80001b08,
    ],
    [{ vector: 0, type: 0, errorCode: false, nmiUnblocking: false, valid: false }, 0],
  ];
  for (const [i, n] of cases) {
    equal(Q.encodeInterruptionInfo(i), n);
    deepEqual(Q.decodeInterruptionInfo(n), i);
  }
  equal(Q.INTR_INFO_ENTRY_RESERVED_MASK, 0x7ffff000);
});

Deno.test("encodeRandomInstructionInfo() puts the register in bits 6:3 and the operand size in 12:11 (SDM Vol. 3, §27.2.5)", () => {
  const cases: [Q.RandomInstructionInfo, number][] = [
    [{ reg: 0, size: 2 }, 0x0], // RDRAND AX
    [{ reg: 1, size: 4 }, 0x808], // RDSEED ECX
    [{ reg: 9, size: 8 }, 0x1048], // RDRAND R9
    [{ reg: 15, size: 8 }, 0x1078], // RDSEED R15
  ];
  for (const [info, want] of cases) {
    equal(Q.encodeRandomInstructionInfo(info), want);
    deepEqual(Q.decodeRandomInstructionInfo(want), info);
  }
  throws(() => Q.decodeRandomInstructionInfo(0x1800), RangeError);
});

Deno.test("encodeAccessRights() follows the AR format of SDM Vol. 3, §24.4.1", () => {
  const cases: [number, Parameters<typeof encodeAccessRights>[0]][] = [
    [0xa09b, {
      type: 11,
      s: true,
      dpl: 0,
      p: true,
      avl: false,
      l: true,
      db: false,
      g: true,
      unusable: false,
    }],
    [0xc093, { type: 3, s: true, dpl: 0, p: true, avl: false, l: false, db: true, g: true, unusable: false }],
    [0x008b, {
      type: 11,
      s: false,
      dpl: 0,
      p: true,
      avl: false,
      l: false,
      db: false,
      g: false,
      unusable: false,
    }],
    [0x10000, {
      type: 0,
      s: false,
      dpl: 0,
      p: false,
      avl: false,
      l: false,
      db: false,
      g: false,
      unusable: true,
    }],
    [0x10f3, {
      type: 3,
      s: true,
      dpl: 3,
      p: true,
      avl: true,
      l: false,
      db: false,
      g: false,
      unusable: false,
    }],
  ];
  for (const [n, ar] of cases) {
    equal(encodeAccessRights(ar), n);
    deepEqual(decodeAccessRights(n), ar);
  }
});
