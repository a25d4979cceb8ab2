# SPDX-License-Identifier: MIT
#
# PAGEALLOC_SANITIZE: build the whole project (library, tests, tools,
# examples) under GCC/Clang sanitizers.  A ;- or ,-separated list of
# "address", "undefined", "thread" ("address" and "thread" exclude each
# other).  CMakePresets.json sets it for the asan (address;undefined) and
# tsan (thread) presets that scripts/sanitize.sh runs.
#
# Reports are fatal: UBSan does not recover (-fno-sanitize-recover=all), and
# the asan/tsan test presets set halt_on_error=1 for ASan and TSan (see
# CMakePresets.json), so a report fails the test that produced it.

set(PAGEALLOC_SANITIZE "" CACHE STRING
    "Sanitizers for the whole build: address;undefined, or thread (empty: none)")

set(PAGEALLOC_SANITIZERS "")
if(PAGEALLOC_SANITIZE)
    string(REPLACE "," ";" PAGEALLOC_SANITIZERS "${PAGEALLOC_SANITIZE}")
    foreach(san IN LISTS PAGEALLOC_SANITIZERS)
        if(NOT san MATCHES "^(address|undefined|thread)$")
            message(FATAL_ERROR
                "PAGEALLOC_SANITIZE: unknown sanitizer '${san}' (known: address, undefined, thread)")
        endif()
    endforeach()
    if("address" IN_LIST PAGEALLOC_SANITIZERS AND "thread" IN_LIST PAGEALLOC_SANITIZERS)
        message(FATAL_ERROR "PAGEALLOC_SANITIZE: 'address' and 'thread' cannot be combined")
    endif()
    if(NOT CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
        message(FATAL_ERROR "PAGEALLOC_SANITIZE needs GCC or Clang (got ${CMAKE_C_COMPILER_ID})")
    endif()

    list(JOIN PAGEALLOC_SANITIZERS "," san_list)
    set(san_flags "-fsanitize=${san_list}" -fno-omit-frame-pointer)
    if("undefined" IN_LIST PAGEALLOC_SANITIZERS)
        # Every UBSan report aborts, as ASan's and TSan's do with halt_on_error.
        list(APPEND san_flags -fno-sanitize-recover=all)
    endif()
    add_compile_options(${san_flags})
    add_link_options("-fsanitize=${san_list}")
    message(STATUS "pagealloc: sanitizers ${san_list}")
endif()
