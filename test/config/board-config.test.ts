import { describe, expect, it } from "vitest";
import { ConfigError, type ConfigErrorCode } from "../../firmware/config.js";
import { parseBoardConfig } from "../../firmware/moddable/pins.js";

function fails(raw: Record<string, unknown>, key: string, code: ConfigErrorCode): void {
  let caught: unknown;
  try {
    parseBoardConfig(raw);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  expect({ key: (caught as ConfigError).key, code: (caught as ConfigError).code }).toEqual({ key, code });
}

describe("parseBoardConfig", () => {
  it("ESP32: numeric port and pins from mcconfig strings", () => {
    const c = parseBoardConfig({ uartPort: "2", uartReceive: "16", uartTransmit: "17", uartBaud: "115200", ledPin: "2" });
    expect(c).toEqual({
      uart: { port: 2, receive: 16, transmit: 17, baud: 115200, exactReads: true, txFifo: 0 },
      led: { pin: 2, port: undefined, activeLow: false },
      logLevel: "info",
    });
  });

  it("Pico: pins only; Zephyr: device-tree labels", () => {
    expect(parseBoardConfig({ uartReceive: 5, uartTransmit: 4, ledPin: 25 }).uart).toEqual({
      receive: 5,
      transmit: 4,
      baud: 115200,
      exactReads: true,
      txFifo: 0,
    });
    expect(parseBoardConfig({ uartReceive: 5, uartTransmit: 4, uartTxFifo: "128", ledPin: 25 }).uart.txFifo).toBe(128);
    const z = parseBoardConfig({ uartPort: "usart6", ledPort: "gpiob", ledPin: "0", rstPort: "gpiog", rstPin: "0" });
    expect(z.uart.port).toBe("usart6");
    expect(z.led).toEqual({ pin: 0, port: "gpiob", activeLow: false });
    expect(z.reset).toEqual({ pin: 0, port: "gpiog" });
  });

  it("lin: a tty path", () => {
    expect(parseBoardConfig({ uartDevice: "/dev/ttyUSB0", ledPin: 1, rstPin: "" }).uart).toEqual({
      device: "/dev/ttyUSB0",
      baud: 115200,
      exactReads: true,
      txFifo: 0,
    });
  });

  it("names every bad key", () => {
    fails({ ledPin: 2 }, "uartReceive", "missing");
    fails({ uartPort: 2, uartReceive: 16, ledPin: 2 }, "uartTransmit", "missing");
    fails({ uartReceive: 4, uartTransmit: 4, ledPin: 2 }, "uartTransmit", "bad-format");
    fails({ uartPort: 99, uartReceive: 1, uartTransmit: 2, ledPin: 2 }, "uartPort", "out-of-range");
    fails({ uartPort: "usart 6", ledPin: 2 }, "uartPort", "bad-format");
    fails({ uartDevice: "ttyUSB0", ledPin: 2 }, "uartDevice", "bad-format");
    fails({ uartReceive: 5, uartTransmit: 4, uartBaud: "fast", ledPin: 2 }, "uartBaud", "not-integer");
    fails({ uartReceive: 5, uartTransmit: 4, uartTxFifo: -1, ledPin: 2 }, "uartTxFifo", "out-of-range");
    fails({ uartReceive: 5, uartTransmit: 4 }, "ledPin", "missing");
    fails({ uartReceive: 5, uartTransmit: 4, ledPin: "300" }, "ledPin", "out-of-range");
    fails({ uartReceive: 5, uartTransmit: 4, ledPin: 25, rstPin: 25 }, "rstPin", "bad-format");
    fails({ uartReceive: 5, uartTransmit: 4, ledPin: 25, logLevel: "loud" }, "logLevel", "bad-choice");
    fails({ uartReceive: 5, uartTransmit: 4, ledPin: 25, ledActiveLow: "low" }, "ledActiveLow", "not-boolean");
  });
});
