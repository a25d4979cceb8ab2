# SPDX-License-Identifier: MIT
#
# pagealloc_public_object(<output.o> <object library>)
#
# The one object of an installed static archive (libpagealloc.a,
# libpagealloc-jemalloc.a): `cc -r` links the library's objects together
# (calls between them are resolved here, as in the .so), then objcopy makes
# every hidden symbol local, so that only the PA_API (pa_*) symbols stay
# global and a program may define bad_page or out_of_memory itself.
#
# Exceptions stay global (and weak, as they were): the weak hidden symbols
# whose names are no C identifiers, which the toolchain puts in a COMDAT
# group in every object -- _.stapsdt.base beside each USDT probe
# (<sys/sdt.h>, src/trace.h), and under clang's coverage or sanitizers
# their module constructors.  The final link keeps one copy of such a group
# for all objects, the program's included, and a local symbol in a
# discarded copy fails it ("defined in discarded section").  No program can
# name them, so they cannot clash.
#
# Call it in the directory whose target lists <output.o> as a source.
# This file is also the script the build runs (cmake -P) for the objcopy
# step: -DNM= -DOBJCOPY= -DIN=<cc -r output> -DOUT=<output.o>.

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
    function(run_objcopy)
        execute_process(COMMAND "${OBJCOPY}" ${ARGN} RESULT_VARIABLE rc)
        if(NOT rc EQUAL 0)
            message(FATAL_ERROR "${OBJCOPY} ${ARGN} failed (exit ${rc})")
        endif()
    endfunction()

    execute_process(COMMAND "${NM}" --defined-only "${IN}" OUTPUT_VARIABLE text RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${NM} --defined-only ${IN} failed (exit ${rc})")
    endif()
    string(REPLACE "\n" ";" lines "${text}")
    set(keep "")
    foreach(line IN LISTS lines)
        if(line MATCHES "^[0-9a-fA-F]* +[WV] +([^ ]+)$")
            set(name "${CMAKE_MATCH_1}")
            if(NOT name MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
                string(APPEND keep "${name}\n")
            endif()
        endif()
    endforeach()

    # objcopy localizes before it globalizes, and globalizes before it
    # weakens: three passes.
    set(keep_file "${OUT}.keep")
    file(WRITE "${keep_file}" "${keep}")
    if(keep STREQUAL "")
        run_objcopy(--localize-hidden "${IN}" "${OUT}")
    else()
        run_objcopy(--localize-hidden "${IN}" "${OUT}.tmp")
        run_objcopy("--globalize-symbols=${keep_file}" "${OUT}.tmp")
        run_objcopy("--weaken-symbols=${keep_file}" "${OUT}.tmp" "${OUT}")
        file(REMOVE "${OUT}.tmp")
    endif()
    return()
endif()

set(PAGEALLOC_PUBLIC_OBJECT_SCRIPT "${CMAKE_CURRENT_LIST_FILE}")

function(pagealloc_public_object out objlib)
    if(NOT CMAKE_OBJCOPY)
        message(FATAL_ERROR "objcopy not found (binutils): it builds the static libraries")
    endif()
    get_filename_component(dir "${out}" DIRECTORY)
    get_filename_component(stem "${out}" NAME_WE)
    file(MAKE_DIRECTORY "${dir}")
    set(linked "${dir}/${stem}-r.o")
    add_custom_command(OUTPUT "${out}"
        COMMAND "${CMAKE_C_COMPILER}" -r -nostdlib -o "${linked}" "$<TARGET_OBJECTS:${objlib}>"
        COMMAND "${CMAKE_COMMAND}" "-DNM=${CMAKE_NM}" "-DOBJCOPY=${CMAKE_OBJCOPY}"
                "-DIN=${linked}" "-DOUT=${out}" -P "${PAGEALLOC_PUBLIC_OBJECT_SCRIPT}"
        DEPENDS ${objlib} "$<TARGET_OBJECTS:${objlib}>" "${PAGEALLOC_PUBLIC_OBJECT_SCRIPT}"
        COMMENT "Linking ${stem}.o (only pa_ symbols global)"
        COMMAND_EXPAND_LISTS
        VERBATIM)
endfunction()
