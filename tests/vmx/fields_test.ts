import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  buildFieldLookup,
  EPT_POINTER,
  EXIT_QUALIFICATION,
  FIELD_GROUPS,
  fieldOffset,
  fieldSize,
  findField,
  findFieldByName,
  GUEST_LINEAR_ADDRESS,
  GUEST_PHYSICAL_ADDRESS,
  GUEST_PML_INDEX,
  GUEST_RIP,
  HVSIM_FIELD_AREA_OFFSET,
  IO_BITMAP_A_HIGH,
  PML_ADDRESS,
  VM_EXIT_INSTRUCTION_LEN,
  VM_EXIT_REASON,
  VM_INSTRUCTION_ERROR,
  VMCS_FIELDS,
  VMCS_LAUNCH_STATE_OFFSET,
  VMCS_REGION_SIZE,
} from "../../src/vmx/fields.ts";

import { readVmcsFieldsTsv } from "./_vmcs_fields_tsv.ts";

function hex4(n: number): string {
  return "0x" + n.toString(16).toUpperCase().padStart(4, "0");
}

Deno.test("VMCS_FIELDS equals data/vmcs_fields.tsv row for row: encoding, name, width, type", () => {
  const rows = readVmcsFieldsTsv();
  equal(rows.length, 194);
  equal(VMCS_FIELDS.length, rows.length);
  VMCS_FIELDS.forEach((f, i) => {
    const r = rows[i];
    deepEqual(
      [hex4(f.encoding), f.name, f.width, f.type],
      [r.encoding, r.name, r.width, r.type],
      `row ${i + 1}`,
    );
  });
});

Deno.test("VMCS_FIELDS keeps every field of data/vmcs_fields.tsv at its vmcs12 offset, the rest in hvsim's area", () => {
  const rows = readVmcsFieldsTsv();
  VMCS_FIELDS.forEach((f, i) => {
    const r = rows[i];
    if (r.vmcs12Offset === null) {
      equal(f.origin, "hvsim", f.name);
      ok(f.offset >= HVSIM_FIELD_AREA_OFFSET, `${f.name} at ${f.offset}: expected hvsim's area`);
    } else {
      equal(f.origin, "vmcs12", f.name);
      equal(f.offset, r.vmcs12Offset, f.name);
    }
  });
});

// Decoding an encoding (SDM Vol. 3, §24.11.2 and App. B.1-B.4): bit 0 access type (1 = high), bits
// 9:1 index, bits 11:10 type, bit 12 and bits 31:15 reserved, bits 14:13 width.
const WIDTH_BITS = ["16", "64", "32", "natural"];
const TYPE_BITS = ["control", "exit-info", "guest", "host"];

Deno.test("data/vmcs_fields.tsv: each row's width and type are those its encoding's bits give", () => {
  for (const r of readVmcsFieldsTsv()) {
    const enc = Number(r.encoding);
    equal(enc & 0xffff9000, 0, `${r.name}: reserved bits`);
    equal(r.width, (enc & 1) === 1 ? "64-high" : WIDTH_BITS[(enc >>> 13) & 3], `${r.name}: width`);
    if ((enc & 1) === 1) equal((enc >>> 13) & 3, 1, `${r.name}: high access to a field that is not 64-bit`);
    equal(r.type, TYPE_BITS[(enc >>> 10) & 3], `${r.name}: type`);
  }
});

// Group prefixes (width << 13 | type << 10) from SDM Vol. 3, §24.11.2.
const PREFIX: Record<string, number> = {
  "16/control": 0x0000,
  "16/guest": 0x0800,
  "16/host": 0x0c00,
  "64/control": 0x2000,
  "64/exit-info": 0x2400,
  "64/guest": 0x2800,
  "64/host": 0x2c00,
  "32/control": 0x4000,
  "32/exit-info": 0x4400,
  "32/guest": 0x4800,
  "32/host": 0x4c00,
  "natural/control": 0x6000,
  "natural/exit-info": 0x6400,
  "natural/guest": 0x6800,
  "natural/host": 0x6c00,
};

Deno.test("VMCS_FIELDS: every encoding's width, type, index and access-type bits agree with its group", () => {
  for (const f of VMCS_FIELDS) {
    const base = f.width === "64-high" ? "64" : f.width;
    const prefix = PREFIX[`${base}/${f.type}`];
    ok(prefix !== undefined, f.name);
    equal(f.encoding & 0x6c00, prefix, `${f.name}: width/type bits`);
    equal(f.encoding & 0xffff9000, 0, `${f.name}: reserved bits`);
    equal(f.encoding & 1, f.width === "64-high" ? 1 : 0, `${f.name}: access type`);
    const index = (f.encoding >>> 1) & 0x1ff;
    equal(prefix | (index << 1) | (f.encoding & 1), f.encoding, `${f.name}: index`);
    equal(f.readOnly, f.type === "exit-info", `${f.name}: read-only`);
    equal(
      f.size,
      f.width === "16" ? 2 : f.width === "32" || f.width === "64-high" ? 4 : 8,
      `${f.name}: size`,
    );
  }
});

Deno.test("FIELD_GROUPS hold the per-group counts of data/vmcs_fields.tsv (SDM Vol. 3, App. B order)", () => {
  const groups: string[] = [];
  const counts: number[] = [];
  for (const r of readVmcsFieldsTsv()) {
    const group = `${r.width === "64-high" ? "64" : r.width}/${r.type}`;
    if (groups.at(-1) !== group) {
      groups.push(group);
      counts.push(0);
    }
    counts[counts.length - 1]++;
  }
  equal(new Set(groups).size, groups.length, "each group's rows are together");
  deepEqual(FIELD_GROUPS.map((g) => `${g.width}/${g.type}`), groups);
  deepEqual(FIELD_GROUPS.map((g) => g.fields.length * (g.width === "64" ? 2 : 1)), counts);
});

Deno.test("VMCS_FIELDS puts vmcs12 fields at KVM's vmcs12 offsets (Linux struct vmcs12)", () => {
  const cases: [number, number][] = [
    [EPT_POINTER, 120],
    [GUEST_PHYSICAL_ADDRESS, 168],
    [PML_ADDRESS, 312],
    [EXIT_QUALIFICATION, 408],
    [GUEST_LINEAR_ADDRESS, 416],
    [GUEST_RIP, 544],
    [VM_INSTRUCTION_ERROR, 808],
    [VM_EXIT_REASON, 812],
    [VM_EXIT_INSTRUCTION_LEN, 832],
    [GUEST_PML_INDEX, 996],
    [0x2000, 40], // io_bitmap_a
    [0x6c16, 672], // host_rip
    [0x4000, 744], // pin_based_vm_exec_control
    [0x482e, 928], // vmx_preemption_timer_value
    [0x0000, 960], // virtual_processor_id
    [0x0c0c, 994], // host_tr_selector
  ];
  for (const [enc, offset] of cases) {
    equal(findField(enc)?.offset, offset, hex4(enc));
    equal(findField(enc)?.origin, "vmcs12", hex4(enc));
  }
});

Deno.test("VMCS_FIELDS: a high alias is the upper half of its 64-bit field's slot", () => {
  for (const f of VMCS_FIELDS.filter((f) => f.width === "64-high")) {
    const full = findField(f.encoding - 1)!;
    equal(full.width, "64");
    equal(f.name, `${full.name}_HIGH`);
    equal(f.offset, full.offset + 4);
  }
  equal(findField(IO_BITMAP_A_HIGH)?.offset, 44);
});

Deno.test("VMCS_FIELDS: offsets never overlap, stay clear of the header and fit in 4096 bytes", () => {
  const used = new Uint8Array(VMCS_REGION_SIZE);
  used.fill(1, 0, VMCS_LAUNCH_STATE_OFFSET + 4); // revision, abort indicator, launch state
  for (const f of VMCS_FIELDS.filter((f) => f.width !== "64-high")) {
    ok(f.offset >= 0 && f.offset + f.size <= VMCS_REGION_SIZE, `${f.name} inside the region`);
    equal(f.offset % f.size, 0, `${f.name} naturally aligned`);
    for (let i = f.offset; i < f.offset + f.size; i++) {
      equal(used[i], 0, `${f.name} overlaps at byte ${i}`);
      used[i] = 1;
    }
    equal(f.origin, f.offset >= HVSIM_FIELD_AREA_OFFSET ? "hvsim" : "vmcs12");
  }
});

Deno.test("VMCS_FIELDS gives hvsim's own offsets exactly to the fields vmcs12 lacks", () => {
  const own = VMCS_FIELDS.filter((f) => f.origin === "hvsim" && f.width !== "64-high").map((f) => f.name)
    .sort();
  deepEqual(own, [
    "CR3_TARGET_VALUE0",
    "CR3_TARGET_VALUE1",
    "CR3_TARGET_VALUE2",
    "CR3_TARGET_VALUE3",
    "GUEST_IA32_RTIT_CTL",
    "LAST_PID_POINTER_INDEX",
    "NOTIFY_WINDOW",
    "PID_POINTER_TABLE",
    "PLE_GAP",
    "PLE_WINDOW",
    "TERTIARY_VM_EXEC_CONTROL",
    "VE_INFORMATION_ADDRESS",
  ]);
});

Deno.test("findField() rejects encodings the table does not support", () => {
  const bad = [
    0x0004, // EPTP index: SDM field that hvsim does not support (SDM Vol. 3, App. B)
    0x6c18, // HOST_S_CET
    0x0001, // high access type on a 16-bit field
    0x4001, // high access type on a 32-bit field
    0x681f, // high access type on a natural-width field
    0x781e, // bit 12 set (reserved)
    0x1681e, // bit 16 set (reserved)
    -1,
    0x8000,
    0x681e + 0.5,
    Number.NaN,
  ];
  for (const enc of bad) {
    equal(findField(enc), undefined, String(enc));
    equal(fieldOffset(enc), -1, String(enc));
    equal(fieldSize(enc), 0, String(enc));
  }
});

Deno.test("findField(), fieldOffset() and fieldSize() agree for every supported encoding", () => {
  for (const f of VMCS_FIELDS) {
    equal(findField(f.encoding), f);
    equal(findFieldByName(f.name), f);
    equal(fieldOffset(f.encoding), f.offset);
    equal(fieldSize(f.encoding), f.size);
  }
});

Deno.test("buildFieldLookup() throws on a duplicate encoding", () => {
  const a = VMCS_FIELDS[0];
  throws(() => buildFieldLookup([a, { ...a, name: "OTHER" }]), /0x0 is both VIRTUAL_PROCESSOR_ID and OTHER/);
  throws(() => buildFieldLookup([{ ...a, encoding: 0x1000 }]), /reserved bits/);
});
