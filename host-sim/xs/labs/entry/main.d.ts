// The Moddable entry (firmware/main.ts), aliased at bundle time; tsc does not follow it from here.
declare module "onenet-led-main" {
  const device: import("../../../../firmware/app.js").LedDevice | undefined;
  export default device;
}
