/*
 * `embedded:io/digital` for the lin (host) build, where Moddable has no GPIO: the LED and RST
 * lines become trace lines, so a host run shows each switch. Same surface as the board's Digital.
 */
export default class Digital {
  static readonly Input = 0;
  static readonly InputPullUp = 1;
  static readonly InputPullDown = 2;
  static readonly InputPullUpDown = 3;
  static readonly Output = 8;
  static readonly OutputOpenDrain = 9;
  static readonly Rising = 1;
  static readonly Falling = 2;

  private readonly pin: number;
  private level: 0 | 1 = 0;

  constructor(options: { pin: number; mode: unknown }) {
    this.pin = typeof options.pin === "number" ? options.pin : -1;
  }

  write(value: 0 | 1): void {
    this.level = value ? 1 : 0;
    trace("digital: pin ", this.pin, " = ", this.level, "\n");
  }

  read(): 0 | 1 {
    return this.level;
  }

  close(): void {}
}
