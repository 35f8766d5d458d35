// onenet-led: the `device` global of the STM32F4DISCOVERY, built by Moddable from its device tree.
import device from "mc/devicetree";

export default device;
