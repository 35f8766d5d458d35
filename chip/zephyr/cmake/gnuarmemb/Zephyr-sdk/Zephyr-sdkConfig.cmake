# onenet-led: see Zephyr-sdkConfigVersion.cmake. Provides no tools: Zephyr finds the toolchain from
# ZEPHYR_TOOLCHAIN_VARIANT and GNUARMEMB_TOOLCHAIN_PATH itself. Zephyr's FindZephyr-sdk module then
# loads <install dir>/cmake/zephyr/host-tools.cmake: ours is in this folder and does nothing.
set(ZEPHYR_SDK_INSTALL_DIR "${CMAKE_CURRENT_LIST_DIR}")
message(STATUS "No Zephyr SDK: building with ZEPHYR_TOOLCHAIN_VARIANT=$ENV{ZEPHYR_TOOLCHAIN_VARIANT} (onenet-led)")
