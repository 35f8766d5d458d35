// Stand-in for Moddable's `websocket` module (bench only: the lab uses a plain socket).
export class Client {}
