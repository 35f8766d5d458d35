// onenet-led: the `device` global of the emulated board, built by Moddable from its device tree.
import device from "mc/devicetree";

export default device;
