# onenet-led: lets Moddable's Zephyr build accept Zephyr 4.3.
#
# Moddable's documentation asks for Zephyr 4.3, but its CMake prefix at some revisions asks for
# find_package(Zephyr 4.4.0 REQUIRED). `onenet-led chip build` puts this folder on
# CMAKE_PREFIX_PATH only when $ZEPHYR_BASE is older than that and at least 4.3.0; it then
# stands for $ZEPHYR_BASE with its real version and loads it unchanged (ZephyrConfig.cmake).
file(STRINGS "$ENV{ZEPHYR_BASE}/VERSION" zephyr_version_lines)
foreach(line ${zephyr_version_lines})
  if(line MATCHES "^(VERSION_MAJOR|VERSION_MINOR|PATCHLEVEL) *= *([0-9]+)")
    set(zephyr_${CMAKE_MATCH_1} ${CMAKE_MATCH_2})
  endif()
endforeach()
set(PACKAGE_VERSION "${zephyr_VERSION_MAJOR}.${zephyr_VERSION_MINOR}.${zephyr_PATCHLEVEL}")
if(PACKAGE_VERSION VERSION_GREATER_EQUAL "4.3.0")
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
else()
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
endif()
