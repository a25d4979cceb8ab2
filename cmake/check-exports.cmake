# SPDX-License-Identifier: MIT
#
# The exported_symbols test (cmake -P): every symbol the shared library
# exports starts with pa_ or PA_ (DESIGN.md: everything else is hidden).
# Inputs (-D): NM LIBRARY

foreach(var NM LIBRARY)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
        message(FATAL_ERROR "check-exports.cmake: -D${var}=... is required")
    endif()
endforeach()

execute_process(COMMAND "${NM}" -D --defined-only "${LIBRARY}"
                OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} -D --defined-only ${LIBRARY} failed (exit ${rc})")
endif()

string(REPLACE "\n" ";" lines "${out}")
set(count 0)
set(bad)
foreach(line IN LISTS lines)
    if(NOT line MATCHES "^[0-9a-fA-F]* *[A-Za-z] +([^ ]+)$")
        continue()
    endif()
    set(sym "${CMAKE_MATCH_1}")
    string(REGEX REPLACE "@.*$" "" sym "${sym}")
    if(sym MATCHES "^(pa_|PA_)")
        math(EXPR count "${count} + 1")
    elseif(NOT sym MATCHES "^(_init|_fini|_edata|_end|__bss_start)$")
        list(APPEND bad "${sym}")
    endif()
endforeach()

if(bad)
    list(JOIN bad "\n  " bad_text)
    message(FATAL_ERROR "exported symbols outside the pa_ namespace (add static, or drop PA_API):\n  ${bad_text}")
endif()
if(count EQUAL 0)
    message(FATAL_ERROR "${LIBRARY} exports no pa_ symbols at all")
endif()
message(STATUS "${LIBRARY}: ${count} exported symbols, all pa_*")
