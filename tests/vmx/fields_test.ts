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

const TSV_URL = new URL("../../../shared/reference/vmcs_fields.tsv", import.meta.url);

function readReferenceRows(): string[][] {
  const lines = Deno.readTextFileSync(TSV_URL).trim().split("\n");
  equal(lines[0], "encoding\tname\twidth\ttype");
  return lines.slice(1).map((l) => l.split("\t"));
}

function hex4(n: number): string {
  return "0x" + n.toString(16).toUpperCase().padStart(4, "0");
}

Deno.test("VMCS_FIELDS equals reference/vmcs_fields.tsv row for row", () => {
  const rows = readReferenceRows();
  equal(rows.length, 194);
  equal(VMCS_FIELDS.length, rows.length);
  VMCS_FIELDS.forEach((f, i) => {
    deepEqual([hex4(f.encoding), f.name, f.width, f.type], rows[i], `row ${i + 1}`);
  });
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

Deno.test("FIELD_GROUPS hold the per-group counts of the reference (§3.2-3.4)", () => {
  const counts = FIELD_GROUPS.map((g) => g.fields.length * (g.width === "64" ? 2 : 1));
  deepEqual(counts, [3, 10, 7, 52, 2, 22, 6, 19, 8, 22, 1, 8, 2, 20, 12]);
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
