/**
 * The repository stands on its own: no tracked file names a path outside it (a relative path that
 * climbs above the root from the file's own directory, an absolute path into a development machine's
 * directories, the design notes that live beside the repository on those machines), every document a
 * tracked file links to or names exists in it, and no file cites an issue number of a tracker the
 * reader does not have.
 */

import { deepEqual } from "node:assert/strict";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname).replace(/\/$/, "");

/** Tracked files (`git ls-files`), or null when git or a git checkout is missing. */
async function trackedFiles(): Promise<string[] | null> {
  try {
    const out = await new Deno.Command("git", { args: ["ls-files", "-z"], cwd: ROOT, stderr: "null" })
      .output();
    if (!out.success) return null;
    return new TextDecoder().decode(out.stdout).split("\0").filter((f) => f !== "");
  } catch {
    return null;
  }
}

const FILES = await trackedFiles();
const TRACKED = new Set(FILES ?? []);
const DIRS = new Set<string>();
for (const f of TRACKED) {
  for (let i = f.indexOf("/"); i >= 0; i = f.indexOf("/", i + 1)) DIRS.add(f.slice(0, i));
}

/** The tracked text files with their contents (a NUL byte in the first 8 KiB marks a binary). */
function textFiles(): [string, string][] {
  const out: [string, string][] = [];
  for (const f of FILES ?? []) {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(`${ROOT}/${f}`);
    } catch {
      continue; // deleted in the work tree
    }
    if (bytes.subarray(0, 8192).includes(0)) continue;
    out.push([f, new TextDecoder().decode(bytes)]);
  }
  return out;
}

/**
 * Resolves `path` against the directory `dir` (both relative to the root): the normalized path, or
 * null if it climbs above the root.
 */
export function resolveInRepo(dir: string, path: string): string | null {
  const parts = dir === "" ? [] : dir.split("/");
  for (const p of path.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") {
      if (parts.length === 0) return null;
      parts.pop();
    } else parts.push(p);
  }
  return parts.join("/");
}

function dirOf(file: string): string {
  const i = file.lastIndexOf("/");
  return i < 0 ? "" : file.slice(0, i);
}

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

// A relative path with a parent step: "./" and "../" steps, then path characters. Not preceded by a
// path character, so "a/../b" is one token only where it starts.
const RELATIVE_PATH = /(?<![\w.\/@-])((?:\.\.?\/)*\.\.\/[\w.@+\/-]*)/g;
// Absolute paths into the directories where development machines keep their work and home trees.
const MACHINE_PATH = /(?<![\w.-])(?:file:\/\/)?\/(?:work|home|root|Users|mnt|srv)\/[^\s"'`)>\],;]*/g;
// The design notes kept beside the repository, by the names they go by.
const SIDE_NOTES = new RegExp(
  [
    String.raw`\b(?:DESIGN|MIGRATION|STYLE)\.md\b`,
    String.raw`\bshared\/(?:reference|DESIGN|MIGRATION|STYLE)`,
    String.raw`\breference\/(?:vmx\.md|vmcs_fields\.tsv)`,
    String.raw`\breference §`,
  ].join("|"),
  "g",
);
// Markdown links and images: [text](target) with a relative target.
const MD_LINK = /!?\[[^\]\n]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;
// A named document: a path ending in .md or .tsv, not part of a URL.
const DOC_NAME = /(?<![\w.\/:-])([\w-][\w.\/-]*\.(?:md|tsv))\b/g;
// An issue number: the word "issue" or "issues", then a number, with or without "#", in any case.
const ISSUE_NUMBER = /\bissues? +#?\d+/gi;

/** Every offending mention in `text` of tracked file `file`, as "file:line: what". */
export function outsideReferences(file: string, text: string): string[] {
  const bad: string[] = [];
  const at = (i: number, what: string) => bad.push(`${file}:${lineOf(text, i)}: ${what}`);
  const dir = dirOf(file);
  for (const m of text.matchAll(RELATIVE_PATH)) {
    if (resolveInRepo(dir, m[1]) === null) at(m.index!, `"${m[1]}" climbs above the repository root`);
  }
  for (const m of text.matchAll(MACHINE_PATH)) at(m.index!, `absolute path "${m[0]}" outside the repository`);
  for (const m of text.matchAll(SIDE_NOTES)) {
    at(m.index!, `"${m[0]}" names notes kept outside the repository`);
  }
  for (const m of text.matchAll(ISSUE_NUMBER)) at(m.index!, `"${m[0]}" cites an issue tracker's number`);
  return bad;
}

/** Every link of a Markdown file, and every .md/.tsv name in any file, that does not exist in the repository. */
export function missingDocuments(file: string, text: string): string[] {
  const bad: string[] = [];
  const dir = dirOf(file);
  const exists = (p: string | null) => p !== null && (TRACKED.has(p) || DIRS.has(p) || p === "");
  if (file.endsWith(".md")) {
    for (const m of text.matchAll(MD_LINK)) {
      const target = m[1].replace(/#.*$/, "");
      if (target === "" || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // an anchor or a URL
      const resolved = target.startsWith("/") ? null : resolveInRepo(dir, target);
      if (!exists(resolved)) bad.push(`${file}:${lineOf(text, m.index!)}: link to "${m[1]}" leads nowhere`);
    }
  }
  for (const m of text.matchAll(DOC_NAME)) {
    const name = m[1];
    if (exists(resolveInRepo(dir, name)) || exists(resolveInRepo("", name))) continue;
    bad.push(`${file}:${lineOf(text, m.index!)}: "${name}" is not a file of the repository`);
  }
  return bad;
}

const why = FILES === null ? " (ignored: needs git and a git checkout to list the tracked files)" : "";

Deno.test({
  name: `no tracked file names a path outside the repository or an issue number${why}`,
  ignore: FILES === null,
  fn() {
    deepEqual(textFiles().flatMap(([f, text]) => outsideReferences(f, text)), []);
  },
});

Deno.test({
  name: `every document a tracked file links to or names is in the repository${why}`,
  ignore: FILES === null,
  fn() {
    deepEqual(textFiles().flatMap(([f, text]) => missingDocuments(f, text)), []);
  },
});

Deno.test("outsideReferences() and resolveInRepo() tell paths inside the repository from paths outside", () => {
  const up = "..";
  deepEqual(resolveInRepo("tests/vm", `${up}/${up}/src/vm/mod.ts`), "src/vm/mod.ts");
  deepEqual(resolveInRepo("tests", `${up}/${up}/x`), null);
  deepEqual(resolveInRepo("", "./a/./b/../c"), "a/c");
  deepEqual(outsideReferences("tests/vm/a_test.ts", `import "${up}/${up}/src/vm/mod.ts";`), []);
  deepEqual(outsideReferences("tests/vm/a_test.ts", `x = "${up}/${up}/${up}/notes/x.tsv";`), [
    `tests/vm/a_test.ts:1: "${up}/${up}/${up}/notes/x.tsv" climbs above the repository root`,
  ]);
  deepEqual(outsideReferences("README.md", `see\n[x](${up}/x.md)`).length, 1);
  deepEqual(outsideReferences("a.ts", `const p = "/wo${"rk"}/main/x";`).length, 1);
  deepEqual(outsideReferences("a.ts", `// read DES${"IGN"}.md`).length, 1);
  deepEqual(outsideReferences("a.ts", `// as iss${"ue"} 12 asks`).length, 1);
  deepEqual(outsideReferences("a.ts", `#!/usr/bin/env python3\nconst py = "/usr/bin/python3";`), []);
});
