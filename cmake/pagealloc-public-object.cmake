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
# One exception stays global: _.stapsdt.base, the weak hidden COMDAT anchor
# <sys/sdt.h> puts beside every USDT probe (src/trace.h); the final link
# keeps one copy of it for all objects, which it cannot do for a local
# symbol ("defined in discarded section").  Its name is no C identifier, so
# no program can collide with it.  objcopy localizes before it globalizes,
# and globalizes before it weakens, hence three passes.
#
# Call it in the directory whose target lists <output.o> as a source.

function(pagealloc_public_object out objlib)
    if(NOT CMAKE_OBJCOPY)
        message(FATAL_ERROR "objcopy not found (binutils): it builds the static libraries")
    endif()
    get_filename_component(dir "${out}" DIRECTORY)
    get_filename_component(stem "${out}" NAME_WE)
    file(MAKE_DIRECTORY "${dir}")
    set(linked "${dir}/${stem}-r.o")
    set(localized "${dir}/${stem}-local.o")
    add_custom_command(OUTPUT "${out}"
        COMMAND "${CMAKE_C_COMPILER}" -r -nostdlib -o "${linked}" "$<TARGET_OBJECTS:${objlib}>"
        COMMAND "${CMAKE_OBJCOPY}" --localize-hidden "${linked}" "${localized}"
        COMMAND "${CMAKE_OBJCOPY}" --globalize-symbol=_.stapsdt.base "${localized}"
        COMMAND "${CMAKE_OBJCOPY}" --weaken-symbol=_.stapsdt.base "${localized}" "${out}"
        DEPENDS ${objlib} "$<TARGET_OBJECTS:${objlib}>"
        COMMENT "Linking ${stem}.o (only pa_ symbols global)"
        COMMAND_EXPAND_LISTS
        VERBATIM)
endfunction()
