import { deepEqual, equal } from "node:assert/strict";
import {
  controlMsr,
  HVSIM_VMCS_REVISION,
  HVSIM_VMX_CAPABILITIES as CAPS,
  type VmxCapabilities,
} from "../../src/vmx/capabilities.ts";
import {
  checkVmEntry,
  isCanonical,
  isValidEptp,
  isValidPat,
  type VmEntryCheckContext,
} from "../../src/vmx/entry_checks.ts";
import * as F from "../../src/vmx/fields.ts";
import type { Vmcs } from "../../src/vmx/vmcs.ts";
import { make32BitPae, makeV86, TEST_EPTP, validVmcs64, VMCS_ADDR } from "./_valid_vmcs.ts";

type Expect =
  | { kind: "control"; check: string }
  | { kind: "host"; check: string }
  | { kind: "guest"; check: string; qualification?: number };

interface Case {
  name: string;
  caps?: VmxCapabilities;
  hostLma?: boolean;
  /** Changes that keep the VMCS valid (a variant of the base guest). */
  base?: (v: Vmcs) => void;
  /** The one change that must fail exactly `expect`. */
  mutate: (v: Vmcs) => void;
  expect: Expect;
}

// Capabilities that additionally allow virtual NMIs, NMI-window exiting, unrestricted guest, the
// shutdown and wait-for-SIPI activity states: used to reach checks hvsim's own capabilities hide.
const WIDE: VmxCapabilities = {
  ...CAPS,
  truePinbasedCtls: controlMsr(0x16, 0x16 | 0x1 | 0x8 | 0x20 | 0x40),
  trueProcbasedCtls: controlMsr(0x04006172, (Number(CAPS.trueProcbasedCtls >> 32n) | 0x400000) >>> 0),
  procbasedCtls2: controlMsr(0, 0x2 | 0x80 | 0x20000),
  misc: CAPS.misc | (1n << 7n) | (1n << 8n),
};

const rn = (v: Vmcs, e: number) => v.readNumber(e);
const setBits = (v: Vmcs, e: number, bits: number) => v.writeNumber(e, (rn(v, e) | bits) >>> 0);
const clearBits = (v: Vmcs, e: number, bits: number) => v.writeNumber(e, (rn(v, e) & ~bits) >>> 0);
const inject = (v: Vmcs, info: number, error = 0, len = 0) => {
  v.writeNumber(F.VM_ENTRY_INTR_INFO_FIELD, info);
  v.writeNumber(F.VM_ENTRY_EXCEPTION_ERROR_CODE, error);
  v.writeNumber(F.VM_ENTRY_INSTRUCTION_LEN, len);
};
const NONCANONICAL = 0x0000800000000000n;
const IF = 0x202n;

const ctl = (check: string): Expect => ({ kind: "control", check });
const host = (check: string): Expect => ({ kind: "host", check });
const guest = (check: string, qualification = 0): Expect => ({ kind: "guest", check, qualification });

const CASES: Case[] = [
  // ---- control fields (error 7) ----
  {
    name: "pin-based bit outside allowed-1",
    mutate: (v) => setBits(v, F.PIN_BASED_VM_EXEC_CONTROL, 0x20),
    expect: ctl("pin-based controls"),
  },
  {
    name: "pin-based default-1 bit cleared",
    mutate: (v) => clearBits(v, F.PIN_BASED_VM_EXEC_CONTROL, 0x2),
    expect: ctl("pin-based controls"),
  },
  {
    name: "primary: use TSC offsetting",
    mutate: (v) => setBits(v, F.CPU_BASED_VM_EXEC_CONTROL, 0x8),
    expect: ctl("primary processor-based controls"),
  },
  {
    name: "primary default-1 bit 1 cleared",
    mutate: (v) => clearBits(v, F.CPU_BASED_VM_EXEC_CONTROL, 0x2),
    expect: ctl("primary processor-based controls"),
  },
  {
    name: "secondary: unrestricted guest",
    mutate: (v) => setBits(v, F.SECONDARY_VM_EXEC_CONTROL, 0x80),
    expect: ctl("secondary processor-based controls"),
  },
  {
    name: "exit: clear BNDCFGS",
    mutate: (v) => setBits(v, F.VM_EXIT_CONTROLS, 0x800000),
    expect: ctl("VM-exit controls"),
  },
  {
    name: "entry: load BNDCFGS",
    mutate: (v) => setBits(v, F.VM_ENTRY_CONTROLS, 0x10000),
    expect: ctl("VM-entry controls"),
  },
  {
    name: "CR3-target count 5 > 4",
    mutate: (v) => v.writeNumber(F.CR3_TARGET_COUNT, 5),
    expect: ctl("CR3-target count"),
  },
  {
    name: "I/O bitmap A not 4 KiB aligned",
    base: (v) => {
      setBits(v, F.CPU_BASED_VM_EXEC_CONTROL, 0x2000000);
      v.write(F.IO_BITMAP_A, 0x7000n);
      v.write(F.IO_BITMAP_B, 0x8000n);
    },
    mutate: (v) => v.write(F.IO_BITMAP_A, 0x7800n),
    expect: ctl("I/O bitmap A address"),
  },
  {
    name: "I/O bitmap B beyond MAXPHYADDR",
    base: (v) => {
      setBits(v, F.CPU_BASED_VM_EXEC_CONTROL, 0x2000000);
      v.write(F.IO_BITMAP_A, 0x7000n);
      v.write(F.IO_BITMAP_B, 0x8000n);
    },
    mutate: (v) => v.write(F.IO_BITMAP_B, 1n << 46n),
    expect: ctl("I/O bitmap B address"),
  },
  {
    name: "MSR bitmap not aligned",
    base: (v) => {
      setBits(v, F.CPU_BASED_VM_EXEC_CONTROL, 0x10000000);
      v.write(F.MSR_BITMAP, 0x9000n);
    },
    mutate: (v) => v.write(F.MSR_BITMAP, 0x9010n),
    expect: ctl("MSR bitmap address"),
  },
  {
    name: "virtual NMIs without NMI exiting",
    caps: WIDE,
    base: (v) => setBits(v, F.PIN_BASED_VM_EXEC_CONTROL, 0x8 | 0x20),
    mutate: (v) => clearBits(v, F.PIN_BASED_VM_EXEC_CONTROL, 0x8),
    expect: ctl("virtual NMIs without NMI exiting"),
  },
  {
    name: "NMI-window exiting without virtual NMIs",
    caps: WIDE,
    base: (v) => {
      setBits(v, F.PIN_BASED_VM_EXEC_CONTROL, 0x8 | 0x20);
      setBits(v, F.CPU_BASED_VM_EXEC_CONTROL, 0x400000);
    },
    mutate: (v) => clearBits(v, F.PIN_BASED_VM_EXEC_CONTROL, 0x20),
    expect: ctl("NMI-window exiting without virtual NMIs"),
  },
  {
    name: "EPTP memory type 1 (WC)",
    mutate: (v) => v.write(F.EPT_POINTER, (TEST_EPTP & ~7n) | 1n),
    expect: ctl("EPT pointer"),
  },
  {
    name: "EPTP walk length 2",
    mutate: (v) => v.write(F.EPT_POINTER, (TEST_EPTP & ~0x38n) | (1n << 3n)),
    expect: ctl("EPT pointer"),
  },
  {
    name: "EPTP 5-level walk unsupported",
    mutate: (v) => v.write(F.EPT_POINTER, (TEST_EPTP & ~0x38n) | (4n << 3n)),
    expect: ctl("EPT pointer"),
  },
  {
    name: "EPTP reserved bit 7",
    mutate: (v) => v.write(F.EPT_POINTER, TEST_EPTP | 0x80n),
    expect: ctl("EPT pointer"),
  },
  {
    name: "EPTP beyond MAXPHYADDR",
    mutate: (v) => v.write(F.EPT_POINTER, TEST_EPTP | (1n << 46n)),
    expect: ctl("EPT pointer"),
  },
  {
    name: "EPTP A/D enable without the capability",
    caps: { ...CAPS, eptVpidCap: CAPS.eptVpidCap & ~(1n << 21n) },
    base: (v) => v.write(F.EPT_POINTER, TEST_EPTP & ~0x40n),
    mutate: (v) => v.write(F.EPT_POINTER, TEST_EPTP),
    expect: ctl("EPT pointer"),
  },
  {
    name: "unrestricted guest without EPT",
    caps: WIDE,
    base: (v) => setBits(v, F.SECONDARY_VM_EXEC_CONTROL, 0x80),
    mutate: (v) => clearBits(v, F.SECONDARY_VM_EXEC_CONTROL, 0x2),
    expect: ctl("unrestricted guest without EPT"),
  },
  {
    name: "PML without EPT",
    base: (v) => {
      setBits(v, F.SECONDARY_VM_EXEC_CONTROL, 0x20000);
      v.write(F.PML_ADDRESS, 0xa000n);
    },
    mutate: (v) => clearBits(v, F.SECONDARY_VM_EXEC_CONTROL, 0x2),
    expect: ctl("PML without EPT"),
  },
  {
    name: "PML address not aligned",
    base: (v) => {
      setBits(v, F.SECONDARY_VM_EXEC_CONTROL, 0x20000);
      v.write(F.PML_ADDRESS, 0xa000n);
    },
    mutate: (v) => v.write(F.PML_ADDRESS, 0xa008n),
    expect: ctl("PML address"),
  },
  {
    name: "save preemption timer without activating it",
    base: (v) => {
      setBits(v, F.PIN_BASED_VM_EXEC_CONTROL, 0x40);
      setBits(v, F.VM_EXIT_CONTROLS, 0x400000);
    },
    mutate: (v) => clearBits(v, F.PIN_BASED_VM_EXEC_CONTROL, 0x40),
    expect: ctl("save preemption timer without activating it"),
  },
  {
    name: "VM-exit MSR-store area not 16-byte aligned",
    base: (v) => {
      v.writeNumber(F.VM_EXIT_MSR_STORE_COUNT, 2);
      v.write(F.VM_EXIT_MSR_STORE_ADDR, 0xb000n);
    },
    mutate: (v) => v.write(F.VM_EXIT_MSR_STORE_ADDR, 0xb008n),
    expect: ctl("VM-exit MSR-store address"),
  },
  {
    name: "VM-exit MSR-load area ends beyond MAXPHYADDR",
    base: (v) => {
      v.writeNumber(F.VM_EXIT_MSR_LOAD_COUNT, 1);
      v.write(F.VM_EXIT_MSR_LOAD_ADDR, (1n << 46n) - 16n);
    },
    mutate: (v) => v.writeNumber(F.VM_EXIT_MSR_LOAD_COUNT, 2),
    expect: ctl("VM-exit MSR-load address"),
  },
  {
    name: "VM-entry MSR-load area not aligned",
    base: (v) => v.write(F.VM_ENTRY_MSR_LOAD_ADDR, 0xc004n), // ignored while the count is 0
    mutate: (v) => v.writeNumber(F.VM_ENTRY_MSR_LOAD_COUNT, 1),
    expect: ctl("VM-entry MSR-load address"),
  },
  {
    name: "inject type 1 (reserved)",
    mutate: (v) => inject(v, 0x80000120),
    expect: ctl("entry interruption type"),
  },
  {
    name: "inject type 7 without MTF support",
    mutate: (v) => inject(v, 0x80000700),
    expect: ctl("entry interruption type"),
  },
  {
    name: "inject with reserved bit 12",
    mutate: (v) => inject(v, 0x80001020),
    expect: ctl("entry interruption reserved bits"),
  },
  { name: "inject NMI with vector 3", mutate: (v) => inject(v, 0x80000203), expect: ctl("entry NMI vector") },
  {
    name: "inject hardware exception 32",
    mutate: (v) => inject(v, 0x80000320),
    expect: ctl("entry exception vector"),
  },
  {
    name: "inject #GP without error code",
    base: (v) => inject(v, 0x80000b0d),
    mutate: (v) => inject(v, 0x8000030d),
    expect: ctl("entry deliver-error-code"),
  },
  {
    name: "inject #UD with error code",
    base: (v) => inject(v, 0x80000306),
    mutate: (v) => inject(v, 0x80000b06),
    expect: ctl("entry deliver-error-code"),
  },
  {
    name: "inject #PF with error code bits 31:16",
    base: (v) => inject(v, 0x80000b0e, 0xffff),
    mutate: (v) => inject(v, 0x80000b0e, 0x10000),
    expect: ctl("entry exception error code"),
  },
  {
    name: "inject INT n with length 0",
    base: (v) => inject(v, 0x80000480, 0, 2),
    mutate: (v) => inject(v, 0x80000480, 0, 0),
    expect: ctl("entry instruction length"),
  },
  {
    name: "inject INT3 with length 16",
    base: (v) => inject(v, 0x80000603, 0, 1),
    mutate: (v) => inject(v, 0x80000603, 0, 16),
    expect: ctl("entry instruction length"),
  },

  // ---- host state (error 8) ----
  {
    name: "host CR0 without NE",
    mutate: (v) => v.write(F.HOST_CR0, v.read(F.HOST_CR0) & ~0x20n),
    expect: host("host CR0 fixed bits"),
  },
  {
    name: "host CR4 without VMXE",
    mutate: (v) => v.write(F.HOST_CR4, v.read(F.HOST_CR4) & ~0x2000n),
    expect: host("host CR4 fixed bits"),
  },
  {
    name: "host CR4 with LA57 (not in FIXED1)",
    mutate: (v) => v.write(F.HOST_CR4, v.read(F.HOST_CR4) | 0x1000n),
    expect: host("host CR4 fixed bits"),
  },
  {
    name: "host CR3 beyond MAXPHYADDR",
    mutate: (v) => v.write(F.HOST_CR3, 1n << 46n),
    expect: host("host CR3"),
  },
  {
    name: "host SYSENTER_ESP not canonical",
    mutate: (v) => v.write(F.HOST_IA32_SYSENTER_ESP, NONCANONICAL),
    expect: host("host IA32_SYSENTER_ESP"),
  },
  {
    name: "host SYSENTER_EIP not canonical",
    mutate: (v) => v.write(F.HOST_IA32_SYSENTER_EIP, NONCANONICAL),
    expect: host("host IA32_SYSENTER_EIP"),
  },
  {
    name: "host PAT with memory type 2",
    mutate: (v) => v.write(F.HOST_IA32_PAT, 0x0007040600070402n),
    expect: host("host IA32_PAT"),
  },
  {
    name: "host EFER reserved bit 1",
    mutate: (v) => v.write(F.HOST_IA32_EFER, 0x502n),
    expect: host("host IA32_EFER reserved bits"),
  },
  {
    name: "host EFER.LMA clear with 64-bit host",
    mutate: (v) => v.write(F.HOST_IA32_EFER, 0x100n),
    expect: host("host IA32_EFER.LMA/LME vs host address-space size"),
  },
  {
    name: "host address-space size 0 on an IA-32e host",
    base: (v) => clearBits(v, F.VM_EXIT_CONTROLS, 0x200000),
    mutate: (v) => clearBits(v, F.VM_EXIT_CONTROLS, 0x200),
    expect: host("host address-space size"),
  },
  {
    name: "host CR4.PAE clear on an IA-32e host",
    mutate: (v) => v.write(F.HOST_CR4, v.read(F.HOST_CR4) & ~0x20n),
    expect: host("host CR4.PAE"),
  },
  {
    name: "host address-space size 1 on a 32-bit host",
    hostLma: false,
    base: (v) => {
      clearBits(v, F.VM_EXIT_CONTROLS, 0x200000 | 0x200);
      make32BitPae(v);
    },
    mutate: (v) => setBits(v, F.VM_EXIT_CONTROLS, 0x200),
    expect: host("host address-space size"),
  },
  {
    name: "IA-32e mode guest under a 32-bit host",
    hostLma: false,
    base: (v) => {
      clearBits(v, F.VM_EXIT_CONTROLS, 0x200000 | 0x200);
      make32BitPae(v);
    },
    mutate: (v) => setBits(v, F.VM_ENTRY_CONTROLS, 0x200),
    expect: host("IA-32e mode guest on a non-IA-32e host"),
  },
  {
    name: "host CR4.PCIDE on a 32-bit host",
    hostLma: false,
    base: (v) => {
      clearBits(v, F.VM_EXIT_CONTROLS, 0x200000 | 0x200);
      make32BitPae(v);
    },
    mutate: (v) => v.write(F.HOST_CR4, v.read(F.HOST_CR4) | 0x20000n),
    expect: host("host CR4.PCIDE"),
  },
  {
    name: "host RIP above 4 GiB on a 32-bit host",
    hostLma: false,
    base: (v) => {
      clearBits(v, F.VM_EXIT_CONTROLS, 0x200000 | 0x200);
      make32BitPae(v);
    },
    mutate: (v) => v.write(F.HOST_RIP, 0x100000000n),
    expect: host("host RIP"),
  },
  {
    name: "host SS selector 0 on a 32-bit host",
    hostLma: false,
    base: (v) => {
      clearBits(v, F.VM_EXIT_CONTROLS, 0x200000 | 0x200);
      make32BitPae(v);
    },
    mutate: (v) => v.writeNumber(F.HOST_SS_SELECTOR, 0),
    expect: host("host SS selector"),
  },
  {
    name: "host RIP not canonical",
    mutate: (v) => v.write(F.HOST_RIP, NONCANONICAL),
    expect: host("host RIP"),
  },
  {
    name: "host DS selector RPL 3",
    mutate: (v) => v.writeNumber(F.HOST_DS_SELECTOR, 0x13),
    expect: host("host DS selector RPL/TI"),
  },
  {
    name: "host TR selector TI",
    mutate: (v) => v.writeNumber(F.HOST_TR_SELECTOR, 0x1c),
    expect: host("host TR selector RPL/TI"),
  },
  {
    name: "host CS selector 0",
    mutate: (v) => v.writeNumber(F.HOST_CS_SELECTOR, 0),
    expect: host("host CS selector"),
  },
  {
    name: "host TR selector 0",
    mutate: (v) => v.writeNumber(F.HOST_TR_SELECTOR, 0),
    expect: host("host TR selector"),
  },
  {
    name: "host FS base not canonical",
    mutate: (v) => v.write(F.HOST_FS_BASE, NONCANONICAL),
    expect: host("host FS base"),
  },
  {
    name: "host GS base not canonical",
    mutate: (v) => v.write(F.HOST_GS_BASE, NONCANONICAL),
    expect: host("host GS base"),
  },
  {
    name: "host GDTR base not canonical",
    mutate: (v) => v.write(F.HOST_GDTR_BASE, NONCANONICAL),
    expect: host("host GDTR base"),
  },
  {
    name: "host IDTR base not canonical",
    mutate: (v) => v.write(F.HOST_IDTR_BASE, NONCANONICAL),
    expect: host("host IDTR base"),
  },
  {
    name: "host TR base not canonical",
    mutate: (v) => v.write(F.HOST_TR_BASE, NONCANONICAL),
    expect: host("host TR base"),
  },

  // ---- guest state (exit 0x80000021) ----
  {
    name: "guest CR0 without NE",
    mutate: (v) => v.write(F.GUEST_CR0, v.read(F.GUEST_CR0) & ~0x20n),
    expect: guest("guest CR0 fixed bits"),
  },
  {
    name: "guest CR0.PG without PE (unrestricted guest)",
    caps: WIDE,
    base: (v) => setBits(v, F.SECONDARY_VM_EXEC_CONTROL, 0x80),
    mutate: (v) => v.write(F.GUEST_CR0, v.read(F.GUEST_CR0) & ~1n),
    expect: guest("guest CR0.PG without CR0.PE"),
  },
  {
    name: "guest CR4 without VMXE",
    mutate: (v) => v.write(F.GUEST_CR4, 0x20n),
    expect: guest("guest CR4 fixed bits"),
  },
  {
    name: "IA-32e mode guest without CR4.PAE",
    mutate: (v) => v.write(F.GUEST_CR4, 0x2000n),
    expect: guest("IA-32e mode guest without CR4.PAE"),
  },
  {
    name: "IA-32e mode guest without CR0.PG (unrestricted guest)",
    caps: WIDE,
    base: (v) => setBits(v, F.SECONDARY_VM_EXEC_CONTROL, 0x80),
    mutate: (v) => v.write(F.GUEST_CR0, v.read(F.GUEST_CR0) & ~0x80000000n),
    expect: guest("IA-32e mode guest without CR0.PG"),
  },
  {
    name: "guest CR4.PCIDE outside IA-32e mode",
    base: make32BitPae,
    mutate: (v) => v.write(F.GUEST_CR4, 0x22020n),
    expect: guest("guest CR4.PCIDE outside IA-32e mode"),
  },
  {
    name: "guest CR3 beyond MAXPHYADDR",
    mutate: (v) => v.write(F.GUEST_CR3, 1n << 46n),
    expect: guest("guest CR3"),
  },
  {
    name: "guest DEBUGCTL reserved bit 2 with load debug controls",
    base: (v) => setBits(v, F.VM_ENTRY_CONTROLS, 0x4),
    mutate: (v) => v.write(F.GUEST_IA32_DEBUGCTL, 0x4n),
    expect: guest("guest IA32_DEBUGCTL"),
  },
  {
    name: "guest DR7 bit 32 with load debug controls",
    base: (v) => setBits(v, F.VM_ENTRY_CONTROLS, 0x4),
    mutate: (v) => v.write(F.GUEST_DR7, 0x100000400n),
    expect: guest("guest DR7"),
  },
  {
    name: "guest SYSENTER_ESP not canonical",
    mutate: (v) => v.write(F.GUEST_SYSENTER_ESP, NONCANONICAL),
    expect: guest("guest IA32_SYSENTER_ESP"),
  },
  {
    name: "guest SYSENTER_EIP not canonical",
    mutate: (v) => v.write(F.GUEST_SYSENTER_EIP, NONCANONICAL),
    expect: guest("guest IA32_SYSENTER_EIP"),
  },
  {
    name: "guest PAT with memory type 3",
    mutate: (v) => v.write(F.GUEST_IA32_PAT, 0x0307040600070406n),
    expect: guest("guest IA32_PAT"),
  },
  {
    name: "guest EFER reserved bit 1",
    mutate: (v) => v.write(F.GUEST_IA32_EFER, 0x502n),
    expect: guest("guest IA32_EFER reserved bits"),
  },
  {
    name: "guest EFER.LMA clear in IA-32e mode",
    mutate: (v) => v.write(F.GUEST_IA32_EFER, 0x100n),
    expect: guest("guest IA32_EFER.LMA vs IA-32e mode guest"),
  },
  {
    name: "guest EFER.LME clear in IA-32e mode",
    mutate: (v) => v.write(F.GUEST_IA32_EFER, 0x400n),
    expect: guest("guest IA32_EFER.LME vs IA-32e mode guest"),
  },
  {
    name: "guest TR selector TI",
    mutate: (v) => v.writeNumber(F.GUEST_TR_SELECTOR, 0x1c),
    expect: guest("guest TR selector TI"),
  },
  {
    name: "guest LDTR selector TI (usable LDTR)",
    base: (v) => {
      v.writeNumber(F.GUEST_LDTR_SELECTOR, 0x20);
      v.writeNumber(F.GUEST_LDTR_LIMIT, 0xffff);
      v.writeNumber(F.GUEST_LDTR_AR_BYTES, 0x82);
    },
    mutate: (v) => v.writeNumber(F.GUEST_LDTR_SELECTOR, 0x24),
    expect: guest("guest LDTR selector TI"),
  },
  {
    name: "guest SS.RPL differs from CS.RPL",
    mutate: (v) => v.writeNumber(F.GUEST_SS_SELECTOR, 0x13),
    expect: guest("guest SS.RPL vs CS.RPL"),
  },
  {
    name: "virtual-8086 CS base != selector << 4",
    base: makeV86,
    mutate: (v) => v.write(F.GUEST_CS_BASE, 0x10010n),
    expect: guest("guest CS base (virtual-8086)"),
  },
  {
    name: "virtual-8086 SS limit != 0xFFFF",
    base: makeV86,
    mutate: (v) => v.writeNumber(F.GUEST_SS_LIMIT, 0xfffe),
    expect: guest("guest SS limit (virtual-8086)"),
  },
  {
    name: "virtual-8086 DS access rights != 0xF3",
    base: makeV86,
    mutate: (v) => v.writeNumber(F.GUEST_DS_AR_BYTES, 0xf2),
    expect: guest("guest DS access rights (virtual-8086)"),
  },
  {
    name: "RFLAGS.VM in an IA-32e mode guest",
    base: makeV86,
    mutate: (v) => {
      setBits(v, F.VM_ENTRY_CONTROLS, 0x200);
      v.write(F.GUEST_IA32_EFER, 0x500n);
    },
    expect: guest("guest RFLAGS.VM"),
  },
  {
    name: "guest TR base not canonical",
    mutate: (v) => v.write(F.GUEST_TR_BASE, NONCANONICAL),
    expect: guest("guest TR base"),
  },
  {
    name: "guest FS base not canonical",
    mutate: (v) => v.write(F.GUEST_FS_BASE, NONCANONICAL),
    expect: guest("guest FS base"),
  },
  {
    name: "guest GS base not canonical",
    mutate: (v) => v.write(F.GUEST_GS_BASE, NONCANONICAL),
    expect: guest("guest GS base"),
  },
  {
    name: "guest LDTR base not canonical (usable LDTR)",
    base: (v) => {
      v.writeNumber(F.GUEST_LDTR_SELECTOR, 0x20);
      v.writeNumber(F.GUEST_LDTR_LIMIT, 0xffff);
      v.writeNumber(F.GUEST_LDTR_AR_BYTES, 0x82);
    },
    mutate: (v) => v.write(F.GUEST_LDTR_BASE, NONCANONICAL),
    expect: guest("guest LDTR base"),
  },
  {
    name: "guest CS base above 4 GiB",
    mutate: (v) => v.write(F.GUEST_CS_BASE, 1n << 32n),
    expect: guest("guest CS base"),
  },
  {
    name: "guest SS base above 4 GiB",
    mutate: (v) => v.write(F.GUEST_SS_BASE, 1n << 32n),
    expect: guest("guest SS base"),
  },
  {
    name: "guest CS type 3 (data)",
    mutate: (v) => v.writeNumber(F.GUEST_CS_AR_BYTES, 0xa093),
    expect: guest("guest CS type"),
  },
  {
    name: "guest CS S bit clear",
    mutate: (v) => v.writeNumber(F.GUEST_CS_AR_BYTES, 0xa08b),
    expect: guest("guest CS S bit"),
  },
  {
    name: "guest CS not present",
    mutate: (v) => v.writeNumber(F.GUEST_CS_AR_BYTES, 0xa01b),
    expect: guest("guest CS present bit"),
  },
  {
    name: "guest CS AR reserved bit 8",
    mutate: (v) => v.writeNumber(F.GUEST_CS_AR_BYTES, 0xa19b),
    expect: guest("guest CS access-rights reserved bits"),
  },
  {
    name: "guest CS G=1 with limit[11:0] != 0xFFF",
    mutate: (v) => v.writeNumber(F.GUEST_CS_LIMIT, 0xfffff000),
    expect: guest("guest CS limit vs G"),
  },
  {
    name: "guest CS.DPL != SS.DPL (non-conforming)",
    mutate: (v) => v.writeNumber(F.GUEST_CS_AR_BYTES, 0xa0fb),
    expect: guest("guest CS.DPL vs SS.DPL (non-conforming)"),
  },
  {
    name: "guest CS.DPL > SS.DPL (conforming)",
    base: (v) => v.writeNumber(F.GUEST_CS_AR_BYTES, 0xa09f),
    mutate: (v) => v.writeNumber(F.GUEST_CS_AR_BYTES, 0xa0bf),
    expect: guest("guest CS.DPL vs SS.DPL (conforming)"),
  },
  {
    name: "guest CS.L with CS.D/B",
    mutate: (v) => v.writeNumber(F.GUEST_CS_AR_BYTES, 0xe09b),
    expect: guest("guest CS.L with CS.D/B"),
  },
  {
    name: "guest SS type 11 (code)",
    mutate: (v) => v.writeNumber(F.GUEST_SS_AR_BYTES, 0xc09b),
    expect: guest("guest SS type"),
  },
  {
    name: "guest SS.DPL != SS.RPL",
    base: (v) => {
      v.writeNumber(F.GUEST_CS_AR_BYTES, 0xa0fb);
      v.writeNumber(F.GUEST_CS_SELECTOR, 0x0b);
      v.writeNumber(F.GUEST_SS_SELECTOR, 0x13);
      v.writeNumber(F.GUEST_SS_AR_BYTES, 0xc0f3);
    },
    mutate: (v) => {
      v.writeNumber(F.GUEST_CS_SELECTOR, 0x08);
      v.writeNumber(F.GUEST_SS_SELECTOR, 0x10);
    },
    expect: guest("guest SS.DPL vs SS.RPL"),
  },
  {
    name: "guest SS S bit clear",
    mutate: (v) => v.writeNumber(F.GUEST_SS_AR_BYTES, 0xc083),
    expect: guest("guest SS S bit"),
  },
  {
    name: "guest DS not accessed",
    mutate: (v) => v.writeNumber(F.GUEST_DS_AR_BYTES, 0xc092),
    expect: guest("guest DS type (not accessed)"),
  },
  {
    name: "guest DS execute-only code",
    mutate: (v) => v.writeNumber(F.GUEST_DS_AR_BYTES, 0xc099),
    expect: guest("guest DS type (execute-only code)"),
  },
  {
    name: "guest DS RPL > DPL",
    mutate: (v) => v.writeNumber(F.GUEST_DS_SELECTOR, 0x13),
    expect: guest("guest DS RPL vs DPL"),
  },
  {
    name: "guest ES not present",
    mutate: (v) => v.writeNumber(F.GUEST_ES_AR_BYTES, 0xc013),
    expect: guest("guest ES present bit"),
  },
  {
    name: "guest FS G=0 with limit above 1 MiB",
    mutate: (v) => v.writeNumber(F.GUEST_FS_AR_BYTES, 0x4093),
    expect: guest("guest FS limit vs G"),
  },
  {
    name: "guest GS AR reserved bit 17",
    mutate: (v) => v.writeNumber(F.GUEST_GS_AR_BYTES, 0x2c093),
    expect: guest("guest GS access-rights reserved bits"),
  },
  {
    name: "guest TR unusable",
    mutate: (v) => v.writeNumber(F.GUEST_TR_AR_BYTES, 0x1008b),
    expect: guest("guest TR unusable"),
  },
  {
    name: "guest TR type 9 (available TSS)",
    mutate: (v) => v.writeNumber(F.GUEST_TR_AR_BYTES, 0x89),
    expect: guest("guest TR type"),
  },
  {
    name: "guest TR type 3 in IA-32e mode",
    mutate: (v) => v.writeNumber(F.GUEST_TR_AR_BYTES, 0x83),
    expect: guest("guest TR type"),
  },
  {
    name: "guest TR S bit set",
    mutate: (v) => v.writeNumber(F.GUEST_TR_AR_BYTES, 0x9b),
    expect: guest("guest TR S bit"),
  },
  {
    name: "guest TR not present",
    mutate: (v) => v.writeNumber(F.GUEST_TR_AR_BYTES, 0x0b),
    expect: guest("guest TR present bit"),
  },
  {
    name: "guest TR G=1 with limit 0x67",
    mutate: (v) => v.writeNumber(F.GUEST_TR_AR_BYTES, 0x808b),
    expect: guest("guest TR limit vs G"),
  },
  {
    name: "guest LDTR type 3 (usable LDTR)",
    base: (v) => {
      v.writeNumber(F.GUEST_LDTR_SELECTOR, 0x20);
      v.writeNumber(F.GUEST_LDTR_LIMIT, 0xffff);
      v.writeNumber(F.GUEST_LDTR_AR_BYTES, 0x82);
    },
    mutate: (v) => v.writeNumber(F.GUEST_LDTR_AR_BYTES, 0x83),
    expect: guest("guest LDTR type"),
  },
  {
    name: "guest GDTR base not canonical",
    mutate: (v) => v.write(F.GUEST_GDTR_BASE, NONCANONICAL),
    expect: guest("guest GDTR base"),
  },
  {
    name: "guest IDTR base not canonical",
    mutate: (v) => v.write(F.GUEST_IDTR_BASE, NONCANONICAL),
    expect: guest("guest IDTR base"),
  },
  {
    name: "guest GDTR limit bit 16",
    mutate: (v) => v.writeNumber(F.GUEST_GDTR_LIMIT, 0x10000),
    expect: guest("guest GDTR limit"),
  },
  {
    name: "guest IDTR limit bit 16",
    mutate: (v) => v.writeNumber(F.GUEST_IDTR_LIMIT, 0x10000),
    expect: guest("guest IDTR limit"),
  },
  {
    name: "guest RIP not canonical (64-bit code)",
    mutate: (v) => v.write(F.GUEST_RIP, NONCANONICAL),
    expect: guest("guest RIP"),
  },
  {
    name: "guest RIP above 4 GiB in compatibility mode",
    base: (v) => v.writeNumber(F.GUEST_CS_AR_BYTES, 0xc09b),
    mutate: (v) => v.write(F.GUEST_RIP, 0x100000000n),
    expect: guest("guest RIP"),
  },
  {
    name: "guest RFLAGS bit 1 clear",
    mutate: (v) => v.write(F.GUEST_RFLAGS, 0n),
    expect: guest("guest RFLAGS reserved bits"),
  },
  {
    name: "guest RFLAGS bit 3 set",
    mutate: (v) => v.write(F.GUEST_RFLAGS, 0xan),
    expect: guest("guest RFLAGS reserved bits"),
  },
  {
    name: "guest RFLAGS bit 22 set",
    mutate: (v) => v.write(F.GUEST_RFLAGS, 0x400002n),
    expect: guest("guest RFLAGS reserved bits"),
  },
  {
    name: "external-interrupt injection with RFLAGS.IF=0",
    base: (v) => {
      v.write(F.GUEST_RFLAGS, IF);
      inject(v, 0x80000020);
    },
    mutate: (v) => v.write(F.GUEST_RFLAGS, 2n),
    expect: guest("guest RFLAGS.IF for external-interrupt injection"),
  },
  {
    name: "guest activity state 4",
    mutate: (v) => v.writeNumber(F.GUEST_ACTIVITY_STATE, 4),
    expect: guest("guest activity state"),
  },
  {
    name: "guest activity shutdown unsupported",
    mutate: (v) => v.writeNumber(F.GUEST_ACTIVITY_STATE, 2),
    expect: guest("guest activity state unsupported"),
  },
  {
    name: "guest HLT with SS.DPL 3",
    base: (v) => {
      v.writeNumber(F.GUEST_CS_AR_BYTES, 0xa0fb);
      v.writeNumber(F.GUEST_CS_SELECTOR, 0x0b);
      v.writeNumber(F.GUEST_SS_SELECTOR, 0x13);
      v.writeNumber(F.GUEST_SS_AR_BYTES, 0xc0f3);
    },
    mutate: (v) => v.writeNumber(F.GUEST_ACTIVITY_STATE, 1),
    expect: guest("guest activity HLT with SS.DPL != 0"),
  },
  {
    name: "guest HLT with STI blocking",
    base: (v) => {
      v.write(F.GUEST_RFLAGS, IF);
      v.writeNumber(F.GUEST_ACTIVITY_STATE, 1);
    },
    mutate: (v) => v.writeNumber(F.GUEST_INTERRUPTIBILITY_INFO, 1),
    expect: guest("guest activity state with STI/MOV-SS blocking"),
  },
  {
    name: "wait-for-SIPI with an injected interrupt",
    caps: WIDE,
    base: (v) => {
      v.write(F.GUEST_RFLAGS, IF);
      v.writeNumber(F.GUEST_ACTIVITY_STATE, 3);
    },
    mutate: (v) => inject(v, 0x80000020),
    expect: guest("guest activity state vs injected event"),
  },
  {
    name: "shutdown with an injected #GP",
    caps: WIDE,
    base: (v) => {
      v.writeNumber(F.GUEST_ACTIVITY_STATE, 2);
      inject(v, 0x80000202); // NMI is allowed in shutdown
    },
    mutate: (v) => inject(v, 0x80000b0d),
    expect: guest("guest activity state vs injected event"),
  },
  {
    name: "guest interruptibility bit 4",
    mutate: (v) => v.writeNumber(F.GUEST_INTERRUPTIBILITY_INFO, 0x10),
    expect: guest("guest interruptibility reserved bits"),
  },
  {
    name: "guest interruptibility STI and MOV-SS",
    base: (v) => {
      v.write(F.GUEST_RFLAGS, IF);
      v.writeNumber(F.GUEST_INTERRUPTIBILITY_INFO, 1);
    },
    mutate: (v) => v.writeNumber(F.GUEST_INTERRUPTIBILITY_INFO, 3),
    expect: guest("guest interruptibility STI and MOV-SS"),
  },
  {
    name: "guest STI blocking with RFLAGS.IF=0",
    base: (v) => v.writeNumber(F.GUEST_INTERRUPTIBILITY_INFO, 2),
    mutate: (v) => v.writeNumber(F.GUEST_INTERRUPTIBILITY_INFO, 1),
    expect: guest("guest interruptibility STI with RFLAGS.IF=0"),
  },
  {
    name: "guest SMI blocking outside SMM",
    mutate: (v) => v.writeNumber(F.GUEST_INTERRUPTIBILITY_INFO, 4),
    expect: guest("guest interruptibility SMI blocking outside SMM"),
  },
  {
    name: "external-interrupt injection with STI blocking",
    base: (v) => {
      v.write(F.GUEST_RFLAGS, IF);
      v.writeNumber(F.GUEST_INTERRUPTIBILITY_INFO, 1);
    },
    mutate: (v) => inject(v, 0x80000020),
    expect: guest("guest interruptibility vs external-interrupt injection"),
  },
  {
    name: "NMI injection with MOV-SS blocking",
    base: (v) => v.writeNumber(F.GUEST_INTERRUPTIBILITY_INFO, 2),
    mutate: (v) => inject(v, 0x80000202),
    expect: guest("guest interruptibility MOV-SS vs NMI injection"),
  },
  {
    name: "NMI injection with STI blocking (qualification 3)",
    base: (v) => {
      v.write(F.GUEST_RFLAGS, IF);
      v.writeNumber(F.GUEST_INTERRUPTIBILITY_INFO, 1);
    },
    mutate: (v) => inject(v, 0x80000202),
    expect: guest("guest interruptibility STI vs NMI injection", 3),
  },
  {
    name: "NMI injection with virtual-NMI blocking",
    caps: WIDE,
    base: (v) => {
      setBits(v, F.PIN_BASED_VM_EXEC_CONTROL, 0x8 | 0x20);
      v.writeNumber(F.GUEST_INTERRUPTIBILITY_INFO, 8);
    },
    mutate: (v) => inject(v, 0x80000202),
    expect: guest("guest interruptibility NMI blocking vs NMI injection"),
  },
  {
    name: "pending debug exceptions bit 4",
    mutate: (v) => v.write(F.GUEST_PENDING_DBG_EXCEPTIONS, 0x10n),
    expect: guest("guest pending debug exceptions reserved bits"),
  },
  {
    name: "VMCS link pointer not aligned (qualification 4)",
    mutate: (v) => v.write(F.VMCS_LINK_POINTER, 0x3008n),
    expect: guest("VMCS link pointer address", 4),
  },
  {
    name: "VMCS link pointer outside host memory",
    mutate: (v) => v.write(F.VMCS_LINK_POINTER, 0x100000n),
    expect: guest("VMCS link pointer address", 4),
  },
  {
    name: "VMCS link pointer = current VMCS",
    mutate: (v) => v.write(F.VMCS_LINK_POINTER, BigInt(VMCS_ADDR)),
    expect: guest("VMCS link pointer is current VMCS", 4),
  },
  {
    name: "VMCS link pointer to a VMCS with the wrong revision",
    base: (v) => {
      new DataView(v.mem.buffer).setUint32(0x3000, HVSIM_VMCS_REVISION, true);
      v.write(F.VMCS_LINK_POINTER, 0x3000n);
    },
    mutate: (v) => new DataView(v.mem.buffer).setUint32(0x3000, HVSIM_VMCS_REVISION + 1, true),
    expect: guest("VMCS link pointer revision", 4),
  },
  {
    name: "VMCS link pointer to a shadow VMCS without VMCS shadowing",
    base: (v) => {
      new DataView(v.mem.buffer).setUint32(0x3000, HVSIM_VMCS_REVISION, true);
      v.write(F.VMCS_LINK_POINTER, 0x3000n);
    },
    mutate: (v) =>
      new DataView(v.mem.buffer).setUint32(0x3000, (HVSIM_VMCS_REVISION | 0x80000000) >>> 0, true),
    expect: guest("VMCS link pointer shadow bit", 4),
  },
  {
    name: "PAE PDPTE with reserved bits (qualification 2)",
    base: (v) => {
      make32BitPae(v);
      v.write(F.GUEST_PDPTR0, 0x6001n);
      v.write(F.GUEST_PDPTR1, 0x6n); // not present: reserved bits are ignored
    },
    mutate: (v) => v.write(F.GUEST_PDPTR2, 0x7003n),
    expect: guest("guest PDPTE2", 2),
  },
];

function contextFor(c: Case, v: Vmcs): VmEntryCheckContext {
  return { caps: c.caps ?? CAPS, hostLma: c.hostLma ?? true, currentVmcs: VMCS_ADDR, mem: v.mem };
}

Deno.test("checkVmEntry() accepts the valid 64-bit guest of setupVmcs64()", () => {
  const v = validVmcs64();
  deepEqual(checkVmEntry(v, { caps: CAPS, currentVmcs: VMCS_ADDR, mem: v.mem }), { ok: true });
});

for (const c of CASES) {
  Deno.test(`checkVmEntry() fails only "${c.expect.check}" for: ${c.name}`, () => {
    const v = validVmcs64(c.caps);
    c.base?.(v);
    deepEqual(checkVmEntry(v, contextFor(c, v)), { ok: true }, "the starting VMCS is valid");
    c.mutate(v);
    const r = checkVmEntry(v, contextFor(c, v));
    switch (c.expect.kind) {
      case "control":
        deepEqual(r, { ok: false, kind: "control", error: 7, check: c.expect.check });
        break;
      case "host":
        deepEqual(r, { ok: false, kind: "host", error: 8, check: c.expect.check });
        break;
      case "guest":
        deepEqual(r, {
          ok: false,
          kind: "guest",
          exitReason: 0x80000021,
          qualification: c.expect.qualification ?? 0,
          check: c.expect.check,
        });
    }
  });
}

Deno.test("checkVmEntry() accepts valid event injection, unusable SS and a usable LDTR", () => {
  const cases: [string, (v: Vmcs) => void][] = [
    ["#GP with error code", (v) => inject(v, 0x80000b0d, 0x10)],
    ["#PF with error code", (v) => inject(v, 0x80000b0e, 2)],
    ["external interrupt with IF=1", (v) => {
      v.write(F.GUEST_RFLAGS, IF);
      inject(v, 0x80000030);
    }],
    ["NMI", (v) => inject(v, 0x80000202)],
    ["INT3 length 1", (v) => inject(v, 0x80000603, 0, 1)],
    ["unusable SS", (v) => v.writeNumber(F.GUEST_SS_AR_BYTES, 0x10000)],
    ["unusable DS with garbage", (v) => v.writeNumber(F.GUEST_DS_AR_BYTES, 0x10000 | 0x0f00)],
    ["usable LDTR", (v) => {
      v.writeNumber(F.GUEST_LDTR_SELECTOR, 0x20);
      v.writeNumber(F.GUEST_LDTR_LIMIT, 0xffff);
      v.writeNumber(F.GUEST_LDTR_AR_BYTES, 0x82);
    }],
    ["HLT activity", (v) => v.writeNumber(F.GUEST_ACTIVITY_STATE, 1)],
    ["32-bit PAE guest", make32BitPae],
    ["virtual-8086 guest", makeV86],
  ];
  for (const [what, change] of cases) {
    const v = validVmcs64();
    change(v);
    deepEqual(checkVmEntry(v, { caps: CAPS, currentVmcs: VMCS_ADDR, mem: v.mem }), { ok: true }, what);
  }
});

Deno.test("isCanonical(), isValidPat() and isValidEptp() follow SDM Vol. 3, §24.6.11 and §26.2-26.3", () => {
  equal(isCanonical(0x00007fffffffffffn), true);
  equal(isCanonical(0xffff800000000000n), true);
  equal(isCanonical(0x0000800000000000n), false);
  equal(isCanonical(0xfffe800000000000n), false);
  equal(isValidPat(0x0007040600070406n), true);
  equal(isValidPat(0x0807040600070406n), false);
  equal(isValidEptp(TEST_EPTP, CAPS), true);
  equal(isValidEptp(0x5000n | 0n | (3n << 3n), CAPS), true); // UC
  equal(isValidEptp(0x5000n | 6n | (3n << 3n) | 0x100n, CAPS), false);
});
