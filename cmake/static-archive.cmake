# SPDX-License-Identifier: MIT
#
# The static_archive_public_only test (cmake -P).  Installs the build tree
# into a scratch prefix, then, against the installed libpagealloc.a:
#   1. builds cmake/consumer/kernel_names.c, a program that defines
#      bad_page, out_of_memory, drain_all_pages, gfp_zone, __free_one_page
#      and more names the library uses inside, and runs it;
#   2. checks with nm that every defined global symbol of the archive (and
#      of libpagealloc-jemalloc.a, when installed) starts with pa_ or PA_
#      (one exception: _.stapsdt.base, see
#      cmake/pagealloc-public-object.cmake), and that they are the symbols
#      the .so exports.
# Any failure stops with FATAL_ERROR, which makes the test fail.
#
# Inputs (-D): BUILD_DIR SOURCE_DIR WORK_DIR LIBDIR INCLUDEDIR C_COMPILER NM
#              [PKG_CONFIG] [CONFIG]

cmake_minimum_required(VERSION 3.25)

foreach(var BUILD_DIR SOURCE_DIR WORK_DIR LIBDIR INCLUDEDIR C_COMPILER NM)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
        message(FATAL_ERROR "static-archive.cmake: -D${var}=... is required")
    endif()
endforeach()
set(TEST_RUN_NAME static_archive)
include("${CMAKE_CURRENT_LIST_DIR}/test-run.cmake")

set(prefix "${WORK_DIR}/prefix")
set(libdir "${prefix}/${LIBDIR}")
set(archive "${libdir}/libpagealloc.a")
test_install("${prefix}")
foreach(f "${archive}" "${libdir}/libpagealloc.so")
    if(NOT EXISTS "${f}")
        message(FATAL_ERROR "[static_archive] missing from the install: ${f}")
    endif()
endforeach()

# nm_symbols(<out> <nm arguments>...): the symbol names of the `nm` lines
# "<value> <type> <name>" whose type letter matches TYPES (a regex class).
function(nm_symbols out types)
    execute_process(COMMAND "${NM}" ${ARGN} OUTPUT_VARIABLE text RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "[static_archive] ${NM} ${ARGN} failed (exit ${rc})")
    endif()
    string(REPLACE "\n" ";" lines "${text}")
    set(names)
    foreach(line IN LISTS lines)
        if(line MATCHES "^[0-9a-fA-F]* *${types} +([^ ]+)$")
            string(REGEX REPLACE "@.*$" "" name "${CMAKE_MATCH_1}")
            list(APPEND names "${name}")
        endif()
    endforeach()
    list(REMOVE_DUPLICATES names)
    list(SORT names)
    set(${out} "${names}" PARENT_SCOPE)
endfunction()

# 1. The program's names must be names the library uses (else the test
#    proves nothing): every one is a symbol of the archive, local there.
set(program_obj "${WORK_DIR}/kernel_names.o")
test_run("compile kernel_names.c"
    "${C_COMPILER}" -std=c11 -Wall -Wextra -Werror -O2 "-I${prefix}/${INCLUDEDIR}"
    -c "${SOURCE_DIR}/cmake/consumer/kernel_names.c" -o "${program_obj}")
nm_symbols(program_names "[TDBR]" --defined-only "${program_obj}")
list(REMOVE_ITEM program_names main)
nm_symbols(archive_names "[A-Za-z]" --defined-only "${archive}")
set(unknown)
foreach(name IN LISTS program_names)
    if(NOT name IN_LIST archive_names)
        list(APPEND unknown "${name}")
    endif()
endforeach()
if(unknown)
    message(FATAL_ERROR "[static_archive] kernel_names.c defines names libpagealloc.a does not have, "
                        "so they test nothing (use names the library uses inside): ${unknown}")
endif()
list(LENGTH program_names nnames)
message(STATUS "[static_archive] kernel_names.c defines ${nnames} names the library also defines")

# 2. Link it with the installed archive and run it.  The archive's
#    dependencies come from pkg-config --static, as a user's would.
set(ENV{PKG_CONFIG_PATH} "${libdir}/pkgconfig")
test_pkg_config(libs --static --libs pagealloc)
separate_arguments(libs UNIX_COMMAND "${libs}")
list(REMOVE_ITEM libs -lpagealloc)
test_run("link kernel_names with the installed libpagealloc.a"
    "${C_COMPILER}" -o "${WORK_DIR}/kernel_names" "${program_obj}" "${archive}" ${libs})
execute_process(COMMAND "${WORK_DIR}/kernel_names" OUTPUT_VARIABLE out RESULT_VARIABLE rc)
message(STATUS "[static_archive] ${out}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "library allocations and frees ok")
    message(FATAL_ERROR "[static_archive] kernel_names failed (exit ${rc})")
endif()

# 3. Only pa_ symbols global in the archives, the same ones the .so
#    libraries export (libpagealloc-jemalloc when jemalloc was there).
function(check_archive lib)
    nm_symbols(globals "[A-Z]" -g --defined-only "${libdir}/${lib}.a")
    set(outside)
    foreach(name IN LISTS globals)
        if(NOT name MATCHES "^(pa_|PA_)" AND NOT name STREQUAL "_.stapsdt.base")
            list(APPEND outside "${name}")
        endif()
    endforeach()
    if(outside)
        list(LENGTH outside nout)
        list(JOIN outside "\n  " outside_text)
        message(FATAL_ERROR "[static_archive] ${nout} global symbols of ${lib}.a outside the pa_ "
                            "namespace (they clash with a program's own):\n  ${outside_text}")
    endif()
    list(REMOVE_ITEM globals _.stapsdt.base)
    nm_symbols(exported "[A-Z]" -D --defined-only "${libdir}/${lib}.so")
    list(FILTER exported INCLUDE REGEX "^(pa_|PA_)")
    if(NOT globals STREQUAL exported)
        set(only_a ${globals})
        list(REMOVE_ITEM only_a ${exported})
        set(only_so ${exported})
        list(REMOVE_ITEM only_so ${globals})
        message(FATAL_ERROR "[static_archive] ${lib}.a and ${lib}.so differ in their public symbols: "
                            "only in the .a: ${only_a}; only in the .so: ${only_so}")
    endif()
    list(LENGTH globals nglobals)
    message(STATUS "[static_archive] ${lib}.a: ${nglobals} global symbols, all pa_*, as the .so exports")
endfunction()
check_archive(libpagealloc)
if(EXISTS "${libdir}/libpagealloc-jemalloc.a")
    check_archive(libpagealloc-jemalloc)
endif()
