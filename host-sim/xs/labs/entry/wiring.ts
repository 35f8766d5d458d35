/*
 * What the Moddable stand-ins (serial, digital, timer, time) run on: the proxy board inside XS,
 * and which pins are the LED and the ESP8266's RST line. Set by lab.ts before the entry runs.
 */
import type { Board, DigitalOutput } from "../../../../firmware/board.js";

export const wiring: { board: Board | undefined; pins: Map<number, DigitalOutput>; depth: ReceiveDepth } = {
  board: undefined,
  pins: new Map(),
  depth: { on: false, base: -1, deepest: 0, frames: "" },
};

/**
 * Off by default (it costs an Error per event): how deep the synchronous call chain from the
 * serial port's onReadable down to Digital.write goes, in frames. On a chip each frame takes XS
 * stack slots (its arguments, locals and a frame header), so this is the receive path's depth.
 */
export interface ReceiveDepth {
  on: boolean;
  /** Frames below the stand-in's own dispatch to onReadable while one runs, else -1. */
  base: number;
  /** The deepest Digital.write seen, in frames from the adapter's onReadable (it included). */
  deepest: number;
  /** The frames of that deepest write, innermost first. */
  frames: string;
}

/** The frames on the stack here (the Error's own line excluded). */
export function stackFrames(): string[] {
  return String(new Error("depth").stack).split("\n").slice(1);
}

export function wiredBoard(): Board {
  if (!wiring.board) throw new Error("the Moddable stand-ins are not wired to a board");
  return wiring.board;
}
