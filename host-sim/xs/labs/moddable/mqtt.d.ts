// The shape of Moddable's modules/network/mqtt/mqtt.js that the lab uses (aliased at bundle time).
declare module "moddable-mqtt" {
  export default class Client {
    constructor(dictionary: { host: string; port?: number; id?: string; user?: string; password?: string; timeout?: number });
    onReady?: () => void;
    onMessage?: (topic: string, payload: ArrayBuffer) => void;
    onClose?: () => void;
    publish(topic: string, data: string | ArrayBuffer, flags?: { quality?: number; retain?: boolean }): void;
    subscribe(topic: string): void;
    close(immediate?: boolean): void;
  }
}
