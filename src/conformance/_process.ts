/**
 * Runs cases through an oracle process that reads cases and writes results as JSON lines.
 * If the process dies part-way, the case it was running is reported as `crash` and the process is
 * restarted on the remaining cases.
 * @module
 */

import { type CaseResult, fromJsonLines, type TestCase, toJsonLines } from "./case.ts";

/** Runs `cases` through `cmd args`, one JSON line in and one out per case. */
export async function runJsonLinesProcess(
  cmd: string,
  args: string[],
  cases: readonly TestCase[],
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  let rest = cases.slice();
  while (rest.length > 0) {
    const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
    const writer = child.stdin.getWriter();
    const input = new TextEncoder().encode(toJsonLines(rest));
    const writing = writer.write(input).then(() => writer.close()).catch(() => {});
    const [out] = await Promise.all([child.output(), writing]);
    const got = fromJsonLines<CaseResult>(new TextDecoder().decode(out.stdout));
    for (let i = 0; i < got.length; i++) {
      if (got[i].id !== rest[i]?.id) {
        throw new Error(`${cmd}: result ${i} has id ${got[i].id}, expected ${rest[i]?.id}`);
      }
    }
    results.push(...got);
    if (got.length === rest.length) break;
    const stderr = new TextDecoder().decode(out.stderr).trim();
    if (got.length === 0 && out.code === 2) {
      throw new Error(`${cmd} failed: ${stderr || `exit code ${out.code}`}`);
    }
    const crashed = rest[got.length];
    results.push({
      id: crashed.id,
      exception: "crash",
      detail: `${cmd.split("/").pop()} died (exit ${out.code}${out.signal ? `, ${out.signal}` : ""})${
        stderr ? ": " + stderr.split("\n").pop() : ""
      }`,
    });
    rest = rest.slice(got.length + 1);
  }
  return results;
}
