# SPDX-License-Identifier: MIT
#
# pagealloc_target_warnings(<target>...)
#
# The project's warning set, plus -Werror when PAGEALLOC_WERROR is ON (CI
# turns it on).  The library and the examples use it; tests/, tools/ and
# bench/ may call it for their own targets.  It is a function rather than a
# global add_compile_options() so third-party code (Check's macros, peers in
# the benchmark) is not held to -Werror.

set(PAGEALLOC_WARNING_FLAGS
    -Wall -Wextra -Wshadow -Wpointer-arith -Wformat=2)

function(pagealloc_target_warnings)
    foreach(tgt IN LISTS ARGN)
        if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
            target_compile_options(${tgt} PRIVATE ${PAGEALLOC_WARNING_FLAGS})
            if(PAGEALLOC_WERROR)
                target_compile_options(${tgt} PRIVATE -Werror)
            endif()
        endif()
    endforeach()
endfunction()
