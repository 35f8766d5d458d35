# onenet-led: no Zephyr SDK host tools (see ../../Zephyr-sdkConfig.cmake). FindZephyr-sdk has just
# cached ZEPHYR_SDK_INSTALL_DIR: forget it, or the next configure would take this folder for an SDK.
unset(ZEPHYR_SDK_INSTALL_DIR CACHE)
