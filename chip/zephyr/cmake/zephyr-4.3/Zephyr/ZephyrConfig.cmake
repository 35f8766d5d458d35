# onenet-led: see ZephyrConfigVersion.cmake. Loads the Zephyr at $ZEPHYR_BASE as is.
include("$ENV{ZEPHYR_BASE}/share/zephyr-package/cmake/ZephyrConfig.cmake")
