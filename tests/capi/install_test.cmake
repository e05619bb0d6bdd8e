# cmake -DBUILD_DIR=<build> -DPREFIX=<dir> -P install_test.cmake
#
# Installs the build into an empty prefix and checks the layout the
# out-of-tree programs rely on, and that pkg-config finds limify there.
file(REMOVE_RECURSE "${PREFIX}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}"
                OUTPUT_VARIABLE out ERROR_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed:\n${out}")
endif()

foreach(file
    include/limify/limify.h include/limify/plugin.h include/limify/plugin.hpp
    lib/liblimify.so lib/liblimify.so.0 lib/liblimify.so.0.1.0
    lib/limify/plugins/limify_memory.so
    lib/pkgconfig/limify.pc
    lib/cmake/limify/limifyConfig.cmake lib/cmake/limify/limifyConfigVersion.cmake
    lib/cmake/limify/limifyTargets.cmake)
  if(NOT EXISTS "${PREFIX}/${file}")
    message(FATAL_ERROR "not installed: ${PREFIX}/${file}")
  endif()
endforeach()

find_program(PKG_CONFIG pkg-config REQUIRED)
set(ENV{PKG_CONFIG_PATH} "${PREFIX}/lib/pkgconfig")
execute_process(COMMAND "${PKG_CONFIG}" --cflags --libs limify
                OUTPUT_VARIABLE flags ERROR_VARIABLE err RESULT_VARIABLE rc
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config --cflags --libs limify failed: ${err}")
endif()
if(NOT flags STREQUAL "-I${PREFIX}/include -L${PREFIX}/lib -llimify")
  message(FATAL_ERROR "pkg-config --cflags --libs limify gave: ${flags}")
endif()
execute_process(COMMAND "${PKG_CONFIG}" --modversion limify OUTPUT_VARIABLE version
                OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND "${PKG_CONFIG}" --variable=plugindir limify OUTPUT_VARIABLE plugindir
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT plugindir STREQUAL "${PREFIX}/lib/limify/plugins")
  message(FATAL_ERROR "pkg-config --variable=plugindir limify gave: ${plugindir}")
endif()
message(STATUS "installed to ${PREFIX}; pkg-config: ${flags} (version ${version})")
