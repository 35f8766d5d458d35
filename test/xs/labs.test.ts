/*
 * The AT parser lab (used by bench/xs.ts) counts the same in XS as on Node.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ParserLab } from "../../host-sim/xs/labs/at.js";
import { openLab, type Lab } from "./support.js";

describe("AT parser lab on XS", () => {
  let lab: Lab;
  beforeAll(() => {
    lab = openLab({ at: "host-sim/xs/labs/at.ts" });
  });
  afterAll(() => lab.close());

  it("parses a module transcript like Node does, at any chunk size", () => {
    const transcript = "AT\r\r\n\r\nOK\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n+IPD,5:he\r\nl\r\n\r\nOK\r\n> \r\nSEND OK\r\n+IPD,2,3:abc";
    const hex = Buffer.from(transcript, "latin1").toString("hex");
    for (const chunk of [1, 3, 32]) {
      const node = new ParserLab(hex, chunk);
      node.run(2);
      lab.worker.evaluate(`xsHarness.state.p = new xsHarness.modules.at.ParserLab("${hex}", ${chunk}); xsHarness.state.p.run(2)`);
      const xs = lab.worker.evaluateJson<number[]>("[xsHarness.state.p.lines, xsHarness.state.p.dataBytes, xsHarness.state.p.prompts]").value;
      expect(xs).toEqual([node.lines, node.dataBytes, node.prompts]);
      expect(node.dataBytes).toBe(16);
    }
  });
});
