// The HTML report of a real migration, opened in a real browser (headless Chromium over the DevTools
// protocol): one bar group per round, the working set's heat-map cells lit and no others, no console
// errors, no network requests, a layout that fits, and a screenshot in light and dark mode.

import { deepEqual, equal, ok } from "node:assert/strict";
import { migrateInProcess } from "../../src/migration/mod.ts";
import { RSP } from "../../src/cpu/mod.ts";
import { buildMigrationReport } from "../../src/migration/report.ts";
import { renderReportHtml } from "../../src/migration/report_html.ts";
import { guestMemoryMap, Machine, parseElf } from "../../src/vm/mod.ts";
import { Browser, chromiumMissing } from "../_chromium.ts";

const MiB = 1 << 20;
const MISSING = chromiumMissing();

Deno.test({
  name: `report in Chromium: bars per round, the working set lit, no errors, no network${
    MISSING ? ` (ignored: ${MISSING})` : ""
  }`,
  ignore: MISSING !== null,
  fn: async () => {
    const ram = 8 * MiB;
    const elf = Deno.readFileSync(new URL("../../guests/build/memwrite.elf", import.meta.url));
    // 64 working-set pages, all rewritten by every pass; the 5 xen passes each dirty all of them.
    const src = Machine.fromElf(elf, { memory: ram, cmdline: "ws=256K rate=64 iters=0 quiet" });
    const r = await migrateInProcess(src, (h) => new Machine({ memory: h.ramBytes }), {
      at: 1_000_000,
      policy: "xen",
    });
    ok(r.ok, r.error);
    const report = buildMigrationReport(r.stats, {
      guestName: "memwrite.elf",
      cmdline: "ws=256K rate=64 iters=0 quiet",
      regions: guestMemoryMap(parseElf(elf, ram), ram, Number(src.cpu.getReg64(RSP))),
      sourceInstructions: src.instructions,
    });
    // One directory, overwritten by each run: the report and its screenshots stay there to look at.
    const dir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/hvsim-report-test`;
    await Deno.mkdir(dir, { recursive: true });
    const file = `${dir}/report.html`;
    await Deno.writeTextFile(file, renderReportHtml(report));
    const url = `file://${file}`;
    // The lit pages as the report's data has them (checked against the guest's pattern in report_test.ts).
    const lit = report.pages.runs.flatMap(([first, n]) => Array.from({ length: n }, (_, i) => first + i));

    const b = await Browser.launch(1000, 900);
    try {
      await b.open(url);
      const dom = await b.evaluate<{
        rounds: string[];
        cells: number[];
        regions: string[];
        figures: number;
        tables: number;
        overflow: boolean;
        svgTitles: boolean;
      }>(`(() => ({
        rounds: [...document.querySelectorAll("#rounds g.round")].map((g) => g.dataset.round),
        cells: [...document.querySelectorAll("#heat rect.cell")].map((c) => Number(c.dataset.p)),
        regions: [...document.querySelectorAll("#heat text.region-label")].map((t) => t.textContent),
        figures: document.querySelectorAll("svg.chart").length,
        tables: document.querySelectorAll("details.data table").length,
        overflow: document.documentElement.scrollWidth > window.innerWidth,
        svgTitles: [...document.querySelectorAll("svg.chart")].every((s) =>
          s.querySelector(":scope > title") && s.querySelector(":scope > desc") && s.getAttribute("role") === "img"),
      }))()`);
      deepEqual(dom.rounds, ["0", "1", "2", "3", "4", "final"], "one bar group per round");
      deepEqual(dom.cells, lit, "the heat map lights exactly the dirtied pages (one cell per page)");
      ok(dom.regions.some((t) => t.startsWith("page tables")), `labels: ${dom.regions}`);
      ok(dom.regions.some((t) => t.startsWith("stack")), `labels: ${dom.regions}`);
      ok(dom.regions.some((t) => t.startsWith("ELF R-X")), `labels: ${dom.regions}`);
      ok(dom.figures >= 7, `${dom.figures} charts`);
      ok(dom.tables >= 7, `${dom.tables} data tables`);
      ok(dom.svgTitles, "every chart has role=img, a title and a description");
      equal(dom.overflow, false, "nothing wider than the window");
      // Hovering a lit cell shows its details.
      const box = await b.evaluate<{ x: number; y: number }>(`(() => {
        const cell = document.querySelector("#heat rect.cell");
        cell.scrollIntoView({ block: "center" });
        const r = cell.getBoundingClientRect();
        return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
      })()`);
      await b.page("Input.dispatchMouseEvent", { type: "mouseMoved", x: box.x, y: box.y });
      const tip = await b.evaluate<string>(`document.getElementById("tip").textContent`);
      ok(/dirtied, most in 5 round/.test(tip), `tooltip: ${tip}`);

      await b.page("Input.dispatchMouseEvent", { type: "mouseMoved", x: 1, y: 1 });
      await b.evaluate(`window.scrollTo(0, 0)`);
      const light = await b.screenshot();
      await b.page("Emulation.setEmulatedMedia", {
        features: [{ name: "prefers-color-scheme", value: "dark" }],
      });
      const bg = await b.evaluate<string>(`getComputedStyle(document.body).backgroundColor`);
      equal(bg, "rgb(15, 20, 25)", "dark mode");
      const dark = await b.screenshot();
      for (const png of [light, dark]) {
        deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "a PNG");
        const width = new DataView(png.buffer).getUint32(16);
        equal(width, 1000, "screenshot width");
      }
      // Print: light colours even for a dark-mode reader, and every data table opened.
      await b.page("Emulation.setEmulatedMedia", {
        media: "print",
        features: [{ name: "prefers-color-scheme", value: "dark" }],
      });
      equal(
        await b.evaluate<string>(`getComputedStyle(document.body).backgroundColor`),
        "rgb(255, 255, 255)",
      );
      const pdf = await b.page("Page.printToPDF", { printBackground: true }) as { data: string };
      equal(atob(pdf.data.slice(0, 8)).slice(0, 5), "%PDF-");
      deepEqual(
        await b.evaluate<number[]>(
          `[document.querySelectorAll("details.data[open]").length, document.querySelectorAll("details.data").length]`,
        ),
        [dom.tables, dom.tables],
        "printing opens every data table",
      );
      await Deno.writeFile(`${dir}/report-light.png`, light);
      await Deno.writeFile(`${dir}/report-dark.png`, dark);
      console.log(`screenshots: ${dir}/report-light.png, ${dir}/report-dark.png`);

      const errors = b.pageEvents("Runtime.exceptionThrown", "Runtime.consoleAPICalled", "Log.entryAdded")
        .filter((e) =>
          e.method === "Runtime.exceptionThrown" ||
          (e.method === "Runtime.consoleAPICalled" &&
            ["error", "warning", "assert"].includes(e.params.type as string)) ||
          (e.method === "Log.entryAdded" &&
            ["error", "warning"].includes((e.params.entry as { level: string }).level))
        );
      deepEqual(errors.map((e) => JSON.stringify(e.params).slice(0, 300)), [], "no console errors");
      const requests = b.pageEvents("Network.requestWillBeSent").map((e) =>
        (e.params.request as { url: string }).url
      );
      // The browser reports the page's own load, so it would report any other request too.
      deepEqual(requests, [url], "no network requests besides the report itself");
    } finally {
      await b.close();
    }
  },
});
