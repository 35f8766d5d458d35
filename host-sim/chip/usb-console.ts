/*
 * The USB host end of the Pico's console (TinyUSB CDC, what Moddable's stdio and xsbug use).
 * rp2040js's USBCDC enumerates the device and sets DTR/RTS (TinyUSB sends nothing before DTR), but
 * it answers every OUT transfer at once, with zero bytes when it has nothing to send: the device
 * re-arms, and the chip spends most of its cycles in a USB interrupt storm a real host never
 * causes (it NAKs until it has data). This keeps an OUT transfer pending until there are bytes.
 *
 *   const console = new UsbConsole(mcu.usbCtrl, (bytes) => ...);   // what the device prints
 *   console.send(bytes);                                          // what the host types
 */
import { type RPUSBController, USBCDC } from "rp2040js";

export class UsbConsole {
  /** The device has configured the CDC interface and the host set DTR. */
  connected = false;
  private readonly cdc: USBCDC;
  private readonly queue: number[] = [];
  private pending: { endpoint: number; size: number } | undefined;

  constructor(
    private readonly usb: RPUSBController,
    onData: (bytes: Uint8Array) => void,
  ) {
    this.cdc = new USBCDC(usb);
    this.cdc.onDeviceConnected = () => {
      this.connected = true;
    };
    this.cdc.onSerialData = (bytes) => onData(Uint8Array.from(bytes));
    const cdcRead = usb.onEndpointRead;
    usb.onEndpointRead = (endpoint: number, size: number) => {
      if (endpoint !== this.outEndpoint) {
        cdcRead?.(endpoint, size);
        return;
      }
      if (this.queue.length === 0) this.pending = { endpoint, size };
      else this.complete(endpoint, size);
    };
  }

  send(bytes: Uint8Array): void {
    for (const b of bytes) this.queue.push(b);
    const pending = this.pending;
    if (pending && this.queue.length > 0) {
      this.pending = undefined;
      this.complete(pending.endpoint, pending.size);
    }
  }

  private get outEndpoint(): number {
    return (this.cdc as unknown as { outEndpoint: number }).outEndpoint;
  }

  private complete(endpoint: number, size: number): void {
    const chunk = Uint8Array.from(this.queue.splice(0, Math.min(size, this.queue.length)));
    this.usb.endpointReadDone(endpoint, chunk);
  }
}
