# SPDX-License-Identifier: MIT
#
# The install_consumer test (cmake -P).  Installs the build tree into a
# scratch prefix, checks the installed layout, compiles every public header
# on its own, then builds and runs cmake/consumer/consumer.c three ways:
#   1. find_package(pagealloc CONFIG) -> pagealloc::pagealloc         (shared)
#   2. find_package(pagealloc CONFIG) -> pagealloc::pagealloc-static  (static)
#   3. cc consumer.c $(pkg-config --cflags --libs pagealloc)          (shared)
# Any failure stops with FATAL_ERROR, which makes the test fail.
#
# Inputs (-D): BUILD_DIR SOURCE_DIR WORK_DIR LIBDIR INCLUDEDIR C_COMPILER
#              GENERATOR VERSION [PKG_CONFIG] [CONFIG]

cmake_minimum_required(VERSION 3.25)

foreach(var BUILD_DIR SOURCE_DIR WORK_DIR LIBDIR INCLUDEDIR C_COMPILER GENERATOR VERSION)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
        message(FATAL_ERROR "install-consumer.cmake: -D${var}=... is required")
    endif()
endforeach()

set(TEST_RUN_NAME install_consumer)
include("${CMAKE_CURRENT_LIST_DIR}/test-run.cmake")

# 1. Install.
set(prefix "${WORK_DIR}/prefix")
test_install("${prefix}")

# 2. Layout.
set(libdir "${prefix}/${LIBDIR}")
set(incdir "${prefix}/${INCLUDEDIR}")
foreach(f
        "${incdir}/pagealloc/pagealloc.h"
        "${incdir}/pagealloc/config.h"
        "${libdir}/libpagealloc.so"
        "${libdir}/libpagealloc.so.1"
        "${libdir}/libpagealloc.so.${VERSION}"
        "${libdir}/libpagealloc.a"
        "${libdir}/pkgconfig/pagealloc.pc"
        "${libdir}/cmake/pagealloc/pagealloc-config.cmake"
        "${libdir}/cmake/pagealloc/pagealloc-config-version.cmake"
        "${libdir}/cmake/pagealloc/pagealloc-targets.cmake"
        "${libdir}/cmake/pagealloc/pagealloc-numa.cmake")
    if(NOT EXISTS "${f}")
        message(FATAL_ERROR "[install_consumer] missing from the install: ${f}")
    endif()
endforeach()

# 3. Every installed header compiles on its own (no include-order games).
file(GLOB headers "${incdir}/pagealloc/*.h")
foreach(h IN LISTS headers)
    get_filename_component(name "${h}" NAME)
    set(tu "${WORK_DIR}/header_${name}.c")
    file(WRITE "${tu}" "#include <pagealloc/${name}>\n")
    execute_process(
        COMMAND "${C_COMPILER}" -std=c11 -Wall -Wextra -Werror -fsyntax-only
                "-I${incdir}" "${tu}"
        RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "[install_consumer] public header pagealloc/${name} does not compile on its own")
    endif()
endforeach()
list(LENGTH headers nheaders)
message(STATUS "[install_consumer] ${nheaders} public headers compile standalone")

set(ENV{LD_LIBRARY_PATH} "${libdir}")

# 4. CMake package.
set(cbuild "${WORK_DIR}/cmake-consumer")
test_run("configure consumer (find_package)"
    "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/cmake/consumer" -B "${cbuild}" -G "${GENERATOR}"
    "-DCMAKE_C_COMPILER=${C_COMPILER}"
    "-DCMAKE_PREFIX_PATH=${prefix}"
    "-DPAGEALLOC_EXPECTED_DIR=${libdir}/cmake/pagealloc")
test_run("build consumer (find_package)" "${CMAKE_COMMAND}" --build "${cbuild}")
test_run("run consumer_shared (find_package)" "${cbuild}/consumer_shared")
test_run("run consumer_static (find_package)" "${cbuild}/consumer_static")
set(with_jemalloc FALSE)
if(EXISTS "${libdir}/libpagealloc-jemalloc.so")
    set(with_jemalloc TRUE)
    foreach(f "${incdir}/pagealloc/jemalloc.h" "${libdir}/libpagealloc-jemalloc.a"
              "${libdir}/pkgconfig/pagealloc-jemalloc.pc" "${libdir}/libpagealloc-jemalloc-preload.so")
        if(NOT EXISTS "${f}")
            message(FATAL_ERROR "[install_consumer] missing from the install: ${f}")
        endif()
    endforeach()
    test_run("run consumer_jemalloc (find_package pagealloc::jemalloc)" "${cbuild}/consumer_jemalloc")
endif()

# 5. pkg-config.
set(ENV{PKG_CONFIG_PATH} "${libdir}/pkgconfig")
test_pkg_config(pc_flags --cflags --libs pagealloc)
test_pkg_config(pc_version --modversion pagealloc)
if(NOT pc_version STREQUAL VERSION)
    message(FATAL_ERROR "[install_consumer] pkg-config says version '${pc_version}', expected ${VERSION}")
endif()
test_pkg_config(pc_static --static --libs pagealloc)
if(NOT pc_static MATCHES "-lnuma")
    message(FATAL_ERROR "[install_consumer] pkg-config --static --libs lacks -lnuma: ${pc_static}")
endif()
message(STATUS "[install_consumer] pkg-config --cflags --libs pagealloc: ${pc_flags}")
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
test_run("build consumer (pkg-config)"
    "${C_COMPILER}" -std=c11 -o "${WORK_DIR}/consumer_pkgconfig"
    "${SOURCE_DIR}/cmake/consumer/consumer.c" ${pc_flags})
test_run("run consumer (pkg-config)" "${WORK_DIR}/consumer_pkgconfig")

if(with_jemalloc)
    test_pkg_config(pcj_flags --cflags --libs pagealloc-jemalloc)
    message(STATUS "[install_consumer] pkg-config --cflags --libs pagealloc-jemalloc: ${pcj_flags}")
    separate_arguments(pcj_flags UNIX_COMMAND "${pcj_flags}")
    test_run("build jemalloc consumer (pkg-config)"
        "${C_COMPILER}" -std=c11 -o "${WORK_DIR}/consumer_jemalloc_pkgconfig"
        "${SOURCE_DIR}/cmake/consumer/jemalloc_consumer.c" ${pcj_flags})
    test_run("run jemalloc consumer (pkg-config)" "${WORK_DIR}/consumer_jemalloc_pkgconfig")
endif()

message(STATUS "[install_consumer] all consumers built and ran against ${prefix}")
