# SPDX-License-Identifier: MIT
#
# Defines the imported target pagealloc::numa (libnuma), used both by the
# build and by the installed package config (pagealloc-config.cmake includes
# this file so that pagealloc::pagealloc-static can carry libnuma along).
#
# Order of search: pkg-config module `numa`, then find_library(numa) plus
# numa.h.  Sets PAGEALLOC_NUMA_FOUND.  The target name is namespaced so it
# cannot collide with a consumer's own FindNUMA.cmake.

if(TARGET pagealloc::numa)
    set(PAGEALLOC_NUMA_FOUND TRUE)
    return()
endif()

set(PAGEALLOC_NUMA_FOUND FALSE)

find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
    pkg_check_modules(PAGEALLOC_PC_NUMA QUIET IMPORTED_TARGET numa)
endif()

if(PAGEALLOC_PC_NUMA_FOUND)
    add_library(pagealloc::numa INTERFACE IMPORTED)
    target_link_libraries(pagealloc::numa INTERFACE PkgConfig::PAGEALLOC_PC_NUMA)
    set(PAGEALLOC_NUMA_FOUND TRUE)
else()
    find_library(PAGEALLOC_NUMA_LIBRARY NAMES numa)
    find_path(PAGEALLOC_NUMA_INCLUDE_DIR NAMES numa.h)
    mark_as_advanced(PAGEALLOC_NUMA_LIBRARY PAGEALLOC_NUMA_INCLUDE_DIR)
    if(PAGEALLOC_NUMA_LIBRARY AND PAGEALLOC_NUMA_INCLUDE_DIR)
        add_library(pagealloc::numa UNKNOWN IMPORTED)
        set_target_properties(pagealloc::numa PROPERTIES
            IMPORTED_LOCATION "${PAGEALLOC_NUMA_LIBRARY}"
            INTERFACE_INCLUDE_DIRECTORIES "${PAGEALLOC_NUMA_INCLUDE_DIR}")
        set(PAGEALLOC_NUMA_FOUND TRUE)
    endif()
endif()
