/*
 * What the Moddable stand-ins (serial, digital, timer, time) run on: the proxy board inside XS,
 * and which pins are the LED and the ESP8266's RST line. Set by lab.ts before the entry runs.
 */
import type { Board, DigitalOutput } from "../../../../firmware/board.js";

export const wiring: { board: Board | undefined; pins: Map<number, DigitalOutput> } = {
  board: undefined,
  pins: new Map(),
};

export function wiredBoard(): Board {
  if (!wiring.board) throw new Error("the Moddable stand-ins are not wired to a board");
  return wiring.board;
}
