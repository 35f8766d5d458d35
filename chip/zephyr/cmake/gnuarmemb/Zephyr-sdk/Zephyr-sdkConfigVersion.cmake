# onenet-led: stands in for the Zephyr SDK package when Zephyr builds with another toolchain.
#
# Moddable's Zephyr build (build/devices/zephyr/config/CMakeLists.txt.prefix) asks for
# find_package(Zephyr-sdk 1.0.1 REQUIRED), although Zephyr itself builds with any
# ZEPHYR_TOOLCHAIN_VARIANT (here gnuarmemb: the distribution's arm-none-eabi-gcc). `onenet-led
# chip build` puts this folder on CMAKE_PREFIX_PATH only when the variant is not "zephyr"; with
# the variant "zephyr" it accepts nothing, so the real SDK is still required then.
if(DEFINED ENV{ZEPHYR_TOOLCHAIN_VARIANT} AND NOT "$ENV{ZEPHYR_TOOLCHAIN_VARIANT}" STREQUAL "zephyr")
  set(PACKAGE_VERSION "${PACKAGE_FIND_VERSION}")
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
else()
  set(PACKAGE_VERSION "0")
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
endif()
