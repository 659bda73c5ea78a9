/**
 * Differential testing of hvsim's interpreter against real x86-64 implementations: the
 * host CPU and Unicorn as oracles, a seeded case generator, the comparer and the report.
 * @module
 */

export * from "./case.ts";
export * from "./runner.ts";
export * from "./prng.ts";
export * from "./forms.ts";
export * from "./undefined_flags.ts";
export * from "./assembler.ts";
export * from "./generator.ts";
export * from "./compare.ts";
export * from "./host_runner.ts";
export * from "./unicorn_runner.ts";
export * from "./hvsim_runner.ts";
export * from "./unicorn_deviations.ts";
export * from "./vendor_differences.ts";
export * from "./session.ts";
export * from "./report.ts";
export * from "./lengths.ts";
export * from "./table_coverage.ts";
